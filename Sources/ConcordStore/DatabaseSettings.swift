import Foundation
import PostgresNIO

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
        let owner = try Self.configuration(fromURL: url)
        let service = try environment["CONCORD_SERVICE_DATABASE_URL"].map(Self.configuration(fromURL:)) ?? owner
        return DatabaseSettings(owner: owner, service: service)
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=disable|prefer|require` or
    /// `postgres:///database?host=/path/to/socket/dir&user=...`.
    public static func configuration(fromURL text: String) throws(DatabaseURLError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text),
            ["postgres", "postgresql"].contains(components.scheme ?? "")
        else { throw DatabaseURLError("DATABASE_URL must look like postgres://user:password@host:5432/database") }
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? query["user"] ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding } ?? query["password"]
        let database = String(components.path.drop(while: { $0 == "/" })).removingPercentEncoding
        let host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? query["host"] ?? "localhost"
        let port = components.port ?? Int(query["port"] ?? "") ?? 5432
        if host.hasPrefix("/") {
            return .init(
                unixSocketPath: host + "/.s.PGSQL.\(port)", username: user, password: password,
                database: database?.isEmpty == false ? database : nil)
        }
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? (["localhost", "127.0.0.1", "::1"].contains(host) ? "disable" : "prefer") {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case let other: throw DatabaseURLError("DATABASE_URL sslmode \(other) is not one of disable, prefer, require")
        }
        return .init(
            host: host, port: port, username: user, password: password,
            database: database?.isEmpty == false ? database : nil, tls: tls)
    }
}

public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
