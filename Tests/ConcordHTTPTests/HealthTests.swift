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

/// The demo reference data of `deploy/demo-reference.json` (programmes CCT, PENSION, HEALTH, ...; offices OFF-001...).
let demoReference: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("deploy/demo-reference.json")

/// Runs the application on a real port over `settings`' database, with the demo reference data imported first.
func withApplication(
    settings: DatabaseSettings, trackingLimit: Int = 60, importReference: Bool = true,
    runsProjections: Bool = true, projectionStallThreshold: Duration = .seconds(30),
    logger: Logger = TestDatabases.logger, _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    if importReference {
        // A migrated database: record the tests' master key, as `concord serve` does at start.
        try await PostgresClient.withRunning(settings.service, logger: logger) { client in
            try await PersonalDataVault(client: client, master: TestDatabases.masterKey, logger: logger)
                .checkMasterKey(using: client)
        }
        let file = try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: demoReference))
        try await withStore(settings: settings) { store in
            let data = ReferenceData()
            try await data.load(from: store)
            try await data.importFile(file, store: store, metadata: EventMetadata(actor: "test", role: "admin"))
        }
    }
    let client = PostgresClient(configuration: settings.service, backgroundLogger: logger)
    let store = EventStore(client: client, logger: logger)
    let context = AppContext(
        client: client, store: store, migrator: Migrator(migrations: try Migration.bundled(), logger: logger),
        tokens: TokenStore(client: client, logger: logger), reference: ReferenceFollower(store: store, logger: logger),
        vault: PersonalDataVault(client: client, master: TestDatabases.masterKey, logger: logger),
        trackingLimit: trackingLimit, runsProjections: runsProjections,
        projectionStallThreshold: projectionStallThreshold)
    // A real listening socket and a real HTTP client: the boundary is tested as it is crossed in production.
    try await buildApplication(context, port: 0, logger: logger).test(.live, body)
}

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
        try await withApplication(settings: settings, runsProjections: false, projectionStallThreshold: .seconds(1)) {
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
