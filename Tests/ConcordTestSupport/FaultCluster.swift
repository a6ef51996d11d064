import ConcordStore
import Foundation
import Logging
import PostgresNIO

/// A PostgreSQL cluster of one suite's own, for suites that stop or restart PostgreSQL: the cluster every other test
/// shares (and runs on in parallel) is never touched. It lives under /tmp, which the `postgres` user can reach when
/// the tests run as root. It is made whether or not `DATABASE_URL` is set; without PostgreSQL's server binaries the
/// suite fails, saying what to install.
public struct FaultCluster: Sendable {
    public let cluster: LocalCluster
    public let directory: String

    /// Creates and starts the cluster `name` of this test process (after clearing those of dead test processes).
    public static func start(_ name: String) async throws -> FaultCluster {
        Self.removeLeftovers()
        let directory = "/tmp/concord-fault-\(getpid())-\(name)"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(projectDirectory: directory, logger: TestDatabases.logger)
        } catch {
            throw ClusterError("fault tests need their own PostgreSQL cluster: \(error.description)")
        }
        _ = try await cluster.start()
        return FaultCluster(cluster: cluster, directory: directory)
    }

    /// A new database on this cluster with every migration applied.
    public func database(_ name: String) async throws -> DatabaseSettings {
        let settings = DatabaseSettings.local(self.cluster, database: name)
        var maintenance = settings.owner
        maintenance.database = "postgres"
        let logger = TestDatabases.logger
        _ = try await PostgresClient.withRunning(maintenance, logger: logger) { client in
            try await client.execute("CREATE DATABASE \(unescaped: "\"" + name + "\"")", logger: logger)
        }
        try await PostgresClient.withRunning(settings.owner, logger: logger) { client in
            _ = try await Migrator(migrations: try Migration.bundled(), logger: logger).migrate(client)
        }
        return settings
    }

    /// Stops the server and removes its files.
    public func destroy() {
        self.cluster.stop()
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// Clusters left by test processes that died before `destroy`.
    private static func removeLeftovers() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for entry in entries where entry.hasPrefix("concord-fault-") {
            let pid = entry.split(separator: "-").dropFirst(2).first.flatMap { Int32($0) }
            guard let pid, pid != getpid(), kill(pid, 0) != 0 else { continue }
            if let cluster = try? LocalCluster(projectDirectory: "/tmp/" + entry, logger: TestDatabases.logger) {
                cluster.stop()
            }
            try? FileManager.default.removeItem(atPath: "/tmp/" + entry)
        }
    }
}
