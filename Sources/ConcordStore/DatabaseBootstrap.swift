import Foundation
import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs a client for the duration of `body` (a `PostgresClient` only answers while its `run()` is going).
    public static func withRunning<Result: Sendable>(
        _ configuration: PostgresClient.Configuration, logger: Logger,
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        // The pool warns when a query waits for `run()` to start, which here is by design.
        var backgroundLogger = logger
        backgroundLogger.logLevel = .error
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

/// Finds or starts the database, creates it if missing and migrates it: what `serve`, `migrate` and the tests share.
public struct DatabaseBootstrap: Sendable {
    public var settings: DatabaseSettings
    /// The private cluster when `DATABASE_URL` is unset.
    public var cluster: LocalCluster?
    /// Whether this process started the private cluster (and so stops it on exit).
    public var startedCluster: Bool

    /// `DATABASE_URL` when set; otherwise the private cluster under `projectDirectory/.concord`, started if needed.
    public static func prepare(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        projectDirectory: String = FileManager.default.currentDirectoryPath, logger: Logger
    ) async throws -> DatabaseBootstrap {
        if let settings = try DatabaseSettings.fromEnvironment(environment) {
            return DatabaseBootstrap(settings: settings, cluster: nil, startedCluster: false)
        }
        let cluster = try LocalCluster(projectDirectory: projectDirectory, logger: logger)
        let started = try await cluster.start()
        let bootstrap = DatabaseBootstrap(settings: .local(cluster), cluster: cluster, startedCluster: started)
        try await bootstrap.createDatabaseIfMissing(LocalCluster.databaseName, logger: logger)
        return bootstrap
    }

    /// Creates `name` on the owner's server unless it exists (optionally as a copy of `template`).
    public func createDatabaseIfMissing(_ name: String, template: String? = nil, logger: Logger) async throws {
        var maintenance = self.settings.owner
        maintenance.database = "postgres"
        try await PostgresClient.withRunning(maintenance, logger: logger) { client in
            let exists =
                try await client.query("SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger)
                .collect().count > 0
            guard !exists else { return }
            let templateClause = template.map { " TEMPLATE \(Self.quoted($0))" } ?? ""
            // A template still has a connection for a moment after its last user closed it (55006): try again.
            for attempt in 1...20 {
                do {
                    try await client.execute(
                        "CREATE DATABASE \(unescaped: Self.quoted(name))\(unescaped: templateClause)", logger: logger)
                    return
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P04" {
                    return  // created meanwhile by a concurrent start
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55006" && attempt < 20 {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
        }
    }

    /// The same settings pointed at another database on the same server.
    public func settings(forDatabase name: String) -> DatabaseSettings {
        var settings = self.settings
        settings.owner.database = name
        settings.service.database = name
        return settings
    }

    /// Applies the bundled migrations as the owner.
    public func migrate(database: String? = nil, logger: Logger) async throws -> [Int] {
        let owner = database.map { self.settings(forDatabase: $0).owner } ?? self.settings.owner
        let migrator = Migrator(migrations: try Migration.bundled(), logger: logger)
        return try await PostgresClient.withRunning(owner, logger: logger) { client in
            try await migrator.migrate(client)
        }
    }

    public func stopClusterIfStarted() {
        if self.startedCluster { self.cluster?.stop() }
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
