import ConcordCore
import Crypto
import Foundation
import Logging
import PostgresNIO

/// One numbered SQL file from `sql/`, bundled into the binary's resources.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String
    /// Hex SHA-256 of the file's bytes; a changed applied file is refused by comparing it.
    public var checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = Array(SHA256.hash(data: Array(sql.utf8))).hexString
    }

    /// The migrations embedded in this binary (from `sql/`, at build time), in order.
    public static func bundled() throws(MigrationError) -> [Migration] {
        var migrations: [Migration] = []
        for (file, base64) in EmbeddedMigrations.files where file.hasSuffix(".sql") {
            let name = String(file.dropLast(4))
            guard let version = Int(name.prefix(while: \.isNumber)), name.first?.isNumber == true else {
                throw MigrationError("migration file \(file) does not start with its number (NNNN_name.sql)")
            }
            guard let data = Data(base64Encoded: base64), let sql = String(data: data, encoding: .utf8) else {
                throw MigrationError("migration file \(file) is not UTF-8")
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        let versions = migrations.map(\.version)
        guard Set(versions).count == versions.count else { throw MigrationError("two migration files share a number") }
        return migrations
    }
}

public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Applies `sql/` migrations in order, each in its own transaction, recording version, name and checksum.
/// Several processes may start at once: a session advisory lock lets one migrate while the others wait.
public struct Migrator: Sendable {
    static let lockKey: Int64 = 0x636F_6E63_6F72_6401  // "concord" + 1
    public var migrations: [Migration]
    public var logger: Logger

    public init(migrations: [Migration], logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies what is pending; returns the versions applied now.
    @discardableResult
    public func migrate(_ client: PostgresClient) async throws -> [Int] {
        try await client.withConnection { connection in
            try await connection.execute("SELECT pg_advisory_lock(\(Self.lockKey))", logger: self.logger)
            do {
                let applied = try await self.applyPending(on: connection)
                try await connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: self.logger)
                return applied
            } catch {
                _ = try? await connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: self.logger)
                throw error
            }
        }
    }

    /// Versions recorded as applied, or an error naming the first migration whose file changed since.
    public func check(_ client: PostgresClient) async throws -> [Int] {
        try await client.withConnection { connection in
            let recorded = try await self.recorded(on: connection)
            try self.validate(recorded)
            return recorded.keys.sorted()
        }
    }

    private func applyPending(on connection: PostgresConnection) async throws -> [Int] {
        try await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: self.logger)
        let recorded = try await self.recorded(on: connection)
        try self.validate(recorded)
        var applied: [Int] = []
        for migration in self.migrations where recorded[migration.version] == nil {
            self.logger.info("applying migration", metadata: ["migration": "\(migration.name)"])
            try await connection.withCheckedTransaction(logger: self.logger) { connection in
                for statement in SQLScript.statements(migration.sql) {
                    try await connection.execute(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.execute(
                    """
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """, logger: self.logger)
            }
            applied.append(migration.version)
        }
        return applied
    }

    private func recorded(on connection: PostgresConnection) async throws -> [Int: (String, String)] {
        let exists =
            try await connection.query(
                "SELECT to_regclass('schema_migrations') IS NOT NULL", logger: self.logger
            ).collect().first?.decode(Bool.self) ?? false
        guard exists else { return [:] }
        var result: [Int: (String, String)] = [:]
        let rows = try await connection.query(
            "SELECT version, name, checksum FROM schema_migrations", logger: self.logger)
        for try await (version, name, checksum) in rows.decode((Int, String, String).self) {
            result[version] = (name, checksum)
        }
        return result
    }

    private func validate(_ recorded: [Int: (String, String)]) throws {
        let known = Dictionary(uniqueKeysWithValues: self.migrations.map { ($0.version, $0) })
        for (version, (name, checksum)) in recorded.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw MigrationError(
                    "the database has migration \(name), which this binary does not know: is it an older binary?")
            }
            guard migration.checksum == checksum else {
                throw MigrationError(
                    "migration \(migration.name).sql was changed after it was applied "
                        + "(applied checksum \(checksum.prefix(12)), file now \(migration.checksum.prefix(12))); "
                        + "restore the file and add a new migration instead")
            }
        }
    }

    /// Whether every bundled migration is applied and unchanged (for `/readyz`).
    public func isCurrent(_ client: PostgresClient) async -> Bool {
        guard let applied = try? await self.check(client) else { return false }
        return Set(applied).isSuperset(of: self.migrations.map(\.version))
    }
}
