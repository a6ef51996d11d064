import ConcordCore
import ConcordStore
import Crypto
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Real PostgreSQL for tests: `DATABASE_URL` when set, otherwise the private cluster under `.concord/` (started if
/// needed, stopped at exit if this process started it). The migrations run once per test process into a template
/// database; each test gets its own copy (`CREATE DATABASE ... TEMPLATE`), so tests are isolated and can run in
/// parallel.
public actor TestDatabases {
    public static let shared = TestDatabases()
    /// The master key the tests seal personal data with (fixed: nothing secret is sealed in tests).
    public static var masterKey: SymmetricKey { SymmetricKey(data: [UInt8](repeating: 0x5A, count: 32)) }
    public static let masterKeyText = String(repeating: "5a", count: 32)

    public static let logger: Logger = {
        var logger = Logger(label: "concord-tests")
        logger.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "") ?? .warning
        return logger
    }()

    private var preparation: Task<DatabaseBootstrap, any Error>?
    /// The last database creation: each waits for the one before (the actor alone would interleave them at awaits).
    private var lastCreation: Task<Void, any Error>?
    private var counter = 0
    private let prefix = "concord_test_\(getpid())"

    /// The package root: this file is `Tests/ConcordTestSupport/TestDatabases.swift`.
    static let projectDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// Settings for a new database with every migration applied.
    public func freshDatabase() async throws -> DatabaseSettings {
        try await self.createDatabase(fromTemplate: true)
    }

    /// Settings for a new database with no migration applied.
    public func emptyDatabase() async throws -> DatabaseSettings {
        try await self.createDatabase(fromTemplate: false)
    }

    private func createDatabase(fromTemplate: Bool) async throws -> DatabaseSettings {
        let bootstrap = try await self.prepared()
        self.counter += 1
        let name = "\(self.prefix)_\(self.counter)"
        let template = fromTemplate ? self.templateName : nil
        // CREATE DATABASE ... TEMPLATE needs the template to have no other connection: one creation at a time.
        let previous = self.lastCreation
        let creation = Task {
            _ = await previous?.result
            try await bootstrap.createDatabaseIfMissing(name, template: template, logger: Self.logger)
        }
        self.lastCreation = creation
        try await creation.value
        return bootstrap.settings(forDatabase: name)
    }

    private var templateName: String { self.prefix + "_template" }

    private func prepared() async throws -> DatabaseBootstrap {
        if let preparation = self.preparation { return try await preparation.value }
        let templateName = self.templateName
        let preparation = Task {
            var bootstrap = try await DatabaseBootstrap.prepare(
                projectDirectory: Self.projectDirectory, logger: Self.logger)
            if bootstrap.startedCluster, let cluster = bootstrap.cluster {
                ClusterAtExit.stop(cluster)
            }
            try await Self.dropLeftovers(bootstrap)
            let environment = ProcessInfo.processInfo.environment
            // With `DATABASE_URL` alone the service would connect as the owner, and every test of what the service
            // role may not do would pass or fail for the wrong reason: connect as a restricted role instead.
            let ownService = environment["DATABASE_URL"] != nil && environment["CONCORD_SERVICE_DATABASE_URL"] == nil
            if ownService { try await ServiceRole.prepare(bootstrap) }
            try await bootstrap.createDatabaseIfMissing(templateName, logger: Self.logger)
            _ = try await bootstrap.migrate(database: templateName, logger: Self.logger)
            if ownService { bootstrap.settings.service = try await ServiceRole.login(bootstrap) }
            return bootstrap
        }
        self.preparation = preparation
        return try await preparation.value
    }

    /// Drops the databases of earlier test runs whose process is gone.
    private static func dropLeftovers(_ bootstrap: DatabaseBootstrap) async throws {
        var maintenance = bootstrap.settings.owner
        maintenance.database = "postgres"
        try await PostgresClient.withRunning(maintenance, logger: Self.logger) { client in
            let rows = try await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'concord_test_%'")
            for try await name in rows.decode(String.self) {
                let pid = name.split(separator: "_").dropFirst(2).first.flatMap { Int32($0) }
                guard let pid, pid != getpid(), kill(pid, 0) != 0 else { continue }
                try await client.execute(
                    "DROP DATABASE IF EXISTS \(unescaped: "\"" + name + "\"") WITH (FORCE)", logger: Self.logger)
            }
        }
    }
}

/// The restricted role the tests connect as when `DATABASE_URL` names the owner and no
/// `CONCORD_SERVICE_DATABASE_URL` is given: `concord_test_service`, a login that is a member of `concord_service` (so
/// it holds exactly the service's grants) with a password made for this run. The tests never change the password of
/// `concord_service` itself, which a deployment sharing the server may use.
enum ServiceRole {
    static let name = "concord_test_service"

    struct CannotCreate: Error, CustomStringConvertible {
        var description: String
    }

    /// Makes `concord_service` before the migrations run, so that they grant it its privileges.
    static func prepare(_ bootstrap: DatabaseBootstrap) async throws {
        try await Self.asOwner(bootstrap) { client in
            let rows = try await client.query(
                "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user",
                logger: TestDatabases.logger)
            var mayCreateRoles = false
            for try await value in rows.decode(Bool.self) { mayCreateRoles = value }
            guard mayCreateRoles else {
                throw CannotCreate(
                    description:
                        "DATABASE_URL is set without CONCORD_SERVICE_DATABASE_URL, and its role may not create "
                        + "roles: the tests would run the service as the owner, where the privilege tests mean nothing. "
                        + "Set CONCORD_SERVICE_DATABASE_URL to the restricted service role (docs/operations.md), or "
                        + "give DATABASE_URL a role with CREATEROLE.")
            }
            try await client.execute(
                """
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
                        CREATE ROLE concord_service LOGIN;
                    END IF;
                END $$
                """, logger: TestDatabases.logger)
        }
    }

    /// The service settings: the owner's server and database, as the test login with a fresh password.
    static func login(_ bootstrap: DatabaseBootstrap) async throws -> PostgresClient.Configuration {
        let password = (0..<32).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
        try await Self.asOwner(bootstrap) { client in
            try await client.execute(
                """
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(unescaped: Self.name)') THEN
                        CREATE ROLE \(unescaped: Self.name) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT;
                    END IF;
                END $$
                """, logger: TestDatabases.logger)
            try await client.execute(
                "ALTER ROLE \(unescaped: Self.name) LOGIN PASSWORD '\(unescaped: password)'",
                logger: TestDatabases.logger)
            try await client.execute(
                "GRANT concord_service TO \(unescaped: Self.name)", logger: TestDatabases.logger)
        }
        var service = bootstrap.settings.owner
        service.username = Self.name
        service.password = password
        return service
    }

    private static func asOwner(
        _ bootstrap: DatabaseBootstrap, _ body: @Sendable (PostgresClient) async throws -> Void
    ) async throws {
        var maintenance = bootstrap.settings.owner
        maintenance.database = "postgres"
        try await PostgresClient.withRunning(maintenance, logger: TestDatabases.logger, body)
    }
}

/// Stops the private cluster when the test process exits, if the process started it.
enum ClusterAtExit {
    static let cluster = Mutex<LocalCluster?>(nil)

    static func stop(_ cluster: LocalCluster) {
        Self.cluster.withLock { $0 = cluster }
        atexit {
            ClusterAtExit.cluster.withLock { $0 }?.stop()
        }
    }
}

/// Runs `body` with a started `EventStore` on a fresh migrated database, connected as the service role.
public func withStore<T: Sendable>(
    pollInterval: Duration = .seconds(1),
    _ body: @Sendable (EventStore, DatabaseSettings) async throws -> T
) async throws -> T {
    let settings = try await TestDatabases.shared.freshDatabase()
    return try await withStore(settings: settings, pollInterval: pollInterval) { store in
        try await body(store, settings)
    }
}

/// Runs `body` with a started `EventStore` on the given database.
public func withStore<T: Sendable>(
    settings: DatabaseSettings, pollInterval: Duration = .seconds(1),
    _ body: @Sendable (EventStore) async throws -> T
) async throws -> T {
    try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { client in
        let store = EventStore(client: client, logger: TestDatabases.logger, pollInterval: pollInterval)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }
}

/// A `DATABASE_URL` for a client configuration (Unix socket or TCP), to hand to a child process.
public func databaseURL(for configuration: PostgresClient.Configuration) -> String {
    let database = configuration.database ?? "postgres"
    if let socket = configuration.unixSocketPath, let cut = socket.range(of: "/.s.PGSQL.", options: .backwards) {
        let directory = String(socket[..<cut.lowerBound])
        let port = String(socket[cut.upperBound...])
        return "postgres:///\(database)?host=\(directory)&port=\(port)&user=\(configuration.username)"
    }
    let password =
        configuration.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
        ?? ""
    return
        "postgres://\(configuration.username)\(password)@\(configuration.host ?? "localhost"):\(configuration.port ?? 5432)/\(database)"
}

/// The `concord` executable built beside the test bundle.
public var concordExecutable: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("concord")
}

/// Runs a child process to completion without blocking a thread; returns its exit status and output.
public func runProcess(
    _ executable: URL, _ arguments: [String], environment: [String: String]
) async throws
    -> (status: Int32, output: String)
{
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = environment
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("concord-child-\(UUID().uuidString).out")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let handle = try FileHandle(forWritingTo: output)
    defer { try? FileManager.default.removeItem(at: output) }
    process.standardOutput = handle
    process.standardError = handle
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    try? handle.close()
    return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
}

/// Waits until `condition` holds, checking it again each time a projection moves on or a runner takes the lease
/// (their notifications on `concord_projection`), never by sleeping. Bounded by the calling suite's time limit.
public func waitUntil(_ settings: DatabaseSettings, _ condition: @Sendable () async throws -> Bool) async throws {
    try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { client in
        try await client.withConnection { connection in
            // LISTEN is in place before the first check, so a move between the check and the wait is not lost.
            try await connection.listen(on: "concord_projection") { notifications in
                if try await condition() { return }
                for try await _ in notifications where try await condition() { return }
            }
        }
    }
}

/// Waits until the case projection has applied every event appended so far (appends made before the call).
public func waitForProjections(_ settings: DatabaseSettings) async throws {
    try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { client in
        let rows = try await client.query("SELECT coalesce(max(position), 0) FROM events", logger: TestDatabases.logger)
        var head: Int64 = 0
        for try await value in rows.decode(Int64.self) { head = value }
        let target = head
        try await waitUntil(settings) {
            let checkpoint = try await client.query(
                "SELECT position FROM projection.checkpoints WHERE name = 'cases'", logger: TestDatabases.logger)
            for try await position in checkpoint.decode(Int64.self) { return position >= target }
            return false
        }
    }
}
