import ConcordCore
import ConcordHTTP
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
/// `metrics` is the application's own registry (each test's figures stay its own).
func withApplication(
    settings: DatabaseSettings, trackingLimit: Int = 60, importReference: Bool = true,
    logger: Logger = TestDatabases.logger, metrics: ConcordMetrics = ConcordMetrics(),
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
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
    let store = EventStore(client: client, logger: logger, metrics: metrics.factory)
    let context = AppContext(
        client: client, store: store, migrator: Migrator(migrations: try Migration.bundled(), logger: logger),
        tokens: TokenStore(client: client, logger: logger), reference: ReferenceFollower(store: store, logger: logger),
        vault: PersonalDataVault(client: client, master: TestDatabases.masterKey, logger: logger),
        trackingLimit: trackingLimit, metrics: metrics)
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
