import Foundation
import PostgresNIO
import Logging

/// Where the service's database is and who it connects as. The owner role runs migrations; the service role only
/// reads and appends (see `sql/0001_event_log.sql`).
public struct DatabaseSettings: Sendable {
    public var owner: PostgresClient.Configuration
    public var service: PostgresClient.Configuration

    public init(owner: PostgresClient.Configuration, service: PostgresClient.Configuration) {
        self.owner = owner
        self.service = service
    }

    /// The private cluster's database, as the owner and as `concord_service`.
    public static func local(_ cluster: LocalCluster, database: String = LocalCluster.databaseName) -> DatabaseSettings
    {
        DatabaseSettings(
            owner: .init(
                unixSocketPath: cluster.socketPath, username: LocalCluster.ownerRole, password: nil, database: database),
            service: .init(
                unixSocketPath: cluster.socketPath, username: "concord_service", password: nil, database: database))
    }

    /// Settings from `DATABASE_URL` (the owner, which runs migrations) and, when set, `CONCORD_SERVICE_DATABASE_URL`
    /// (the restricted role the service uses; without it the service uses `DATABASE_URL` too).
    public static func fromEnvironment(_ environment: [String: String]) throws(DatabaseURLError) -> DatabaseSettings? {
        guard let url = environment["DATABASE_URL"], !url.isEmpty else { return nil }
        let owner = try Self.configuration(fromURL: url, variable: "DATABASE_URL", writing: true)
        var service = owner
        if let serviceURL = environment["CONCORD_SERVICE_DATABASE_URL"] {
            service = try Self.configuration(
                fromURL: serviceURL, variable: "CONCORD_SERVICE_DATABASE_URL", writing: true)
        }
        return DatabaseSettings(owner: owner, service: service)
    }

    /// `DATABASE_READ_URL`, when set: a read-only server (a hot standby) for the reads that tolerate staleness. Its
    /// `target_session_attrs` may be any (`standby`, `prefer-standby`: the router keeps to a standby while one is up).
    public static func readConfiguration(
        fromEnvironment environment: [String: String]
    ) throws(DatabaseURLError) -> PostgresClient.Configuration? {
        guard let text = environment["DATABASE_READ_URL"], !text.isEmpty else { return nil }
        return try Self.configuration(fromURL: text, variable: "DATABASE_READ_URL", writing: false)
    }

    /// Parses a URL (see `DatabaseURL`). One host: a client configuration for it, as always. Several: the socket of
    /// this process's `HostRouter`, which forwards each connection to the host that suits the URL's
    /// `target_session_attrs` at that moment; for `writing`, only the primary (`read-write`, the default) will do.
    public static func configuration(
        fromURL text: String, variable: String = "DATABASE_URL", writing: Bool = true
    ) throws(DatabaseURLError) -> PostgresClient.Configuration {
        var url = try DatabaseURL.parse(text, variable: variable)
        guard url.endpoints.count > 1 else { return url.configuration(for: url.endpoints[0]) }
        if writing {
            guard [.any, .readWrite, .primary].contains(url.target) else {
                throw DatabaseURLError(
                    "\(variable): target_session_attrs \(url.target.rawValue) cannot append to the log; use read-write")
            }
            url.target = .readWrite
        }
        var logger = Logger(label: "concord.database")
        logger.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "") ?? .info
        let socket = try HostRouter.socketPath(for: url, logger: logger)
        return .init(unixSocketPath: socket, username: url.user, password: url.password, database: url.database)
    }
}

public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
