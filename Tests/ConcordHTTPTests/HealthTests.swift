import ConcordCore
import ConcordHTTP
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite struct HealthTests {
    @Test func healthAndReadinessAnswerOnAMigratedDatabase() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func readinessFailsWithProblemJSONWhenMigrationsAreMissing() async throws {
        var settings = try await TestDatabases.shared.emptyDatabase()
        settings.service = settings.owner  // the service role has no grants on a database that was never migrated
        try await withApplication(settings: settings, importReference: false) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try JSONDecoder().decode(Problem.self, from: Data(buffer: response.body))
                #expect(problem.statusCode == 503)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func unknownRoutesAre404() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct ReadinessTests {
    /// With no process running the projection, the log moves on and the projection does not: once an event has
    /// waited longer than the threshold, `/readyz` is 503 and says the projection is stalled; once a runner has
    /// caught up, it is 200 again.
    @Test func aStalledProjectionIsNotReady() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(
            settings: settings,
            configure: {
                $0.runsProjections = false
                $0.projectionStallThreshold = .seconds(1)
            }
        ) {
            client in
            var detail = ""
            try await poll(within: .seconds(20), "/readyz says the projection is stalled (\(detail))") {
                let answer = try await client.send(.get, "/readyz", token: nil)
                detail = answer["detail"]?.stringValue ?? "\(answer.status)"
                return answer.status == .serviceUnavailable && detail.contains("projection cases is stalled")
            }
            #expect(detail.contains("at position 0 of"), "\(detail)")
            try await withStore(settings: settings) { store in
                let runner = ProjectionRunner(
                    client: store.client, store: store, escalator: nil, logger: TestDatabases.logger)
                let running = Task { try await runner.run() }
                defer { running.cancel() }
                try await waitForProjections(settings)
            }
            let ready = try await client.send(.get, "/readyz", token: nil)
            #expect(ready.status == .ok, "\(ready.json)")
        }
    }
}
