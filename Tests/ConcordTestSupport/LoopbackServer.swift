import ConcordStore
import Foundation
import Subprocess
import SystemPackage

/// One PostgreSQL server of a test's own on a loopback TCP port, made with the installed tools (as the `postgres`
/// user when the tests run as root): for replication, failover and backup tests, which need servers that stream to
/// each other and that the test kills, promotes and restores. Its data lives under a directory of the test's.
public struct LoopbackServer: Sendable {
    public let dataDirectory: String
    public let port: Int

    /// The tools of the newest installed PostgreSQL.
    public static let binDirectory: String = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init)
        return "\(root)/\(versions.max() ?? 15)/bin"
    }()

    /// A new cluster under `directory/name`, not started, with `settings` added to its configuration.
    public static func create(in directory: String, name: String, settings: String = "") async throws -> LoopbackServer
    {
        let server = LoopbackServer(dataDirectory: directory + "/" + name, port: try freePort())
        try await Self.tool(
            "initdb",
            ["-D", server.dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        try server.configure(settings)
        return server
    }

    /// A standby (or a restore) from a base backup of `source`, taken with `pg_basebackup -R` (streaming from it).
    public static func standby(
        of source: LoopbackServer, in directory: String, name: String, settings: String = ""
    ) async throws -> LoopbackServer {
        let server = LoopbackServer(dataDirectory: directory + "/" + name, port: try freePort())
        try await Self.tool(
            "pg_basebackup",
            [
                "-h", "127.0.0.1", "-p", "\(source.port)", "-U", "postgres", "-D", server.dataDirectory, "-R", "-X",
                "stream", "-c", "fast",
            ])
        try server.configure(settings)
        return server
    }

    /// A server restored from a base backup (`pg_basebackup` without `-R`): its files copied to `directory/name`,
    /// `settings` added (a `restore_command`, a recovery target) and `recovery.signal` made, so that it replays the
    /// archived WAL when started.
    public static func restore(
        backup: String, in directory: String, name: String, settings: String
    ) async throws -> LoopbackServer {
        let server = LoopbackServer(dataDirectory: directory + "/" + name, port: try freePort())
        try await Self.asPostgres("/bin/cp", ["-a", backup, server.dataDirectory])
        try server.configure(settings)
        try await Self.asPostgres("/usr/bin/touch", [server.dataDirectory + "/recovery.signal"])
        return server
    }

    /// Makes a directory the `postgres` user may write (for clusters, archives and backups).
    public static func makeDirectory(_ path: String) async throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        if geteuid() == 0 { _ = try await Self.run("/bin/chown", ["postgres", path]) }
    }

    /// Appends `settings` to the configuration, with this server's port and a socket in /tmp of its own.
    public func configure(_ settings: String) throws {
        let text = """

            listen_addresses = '127.0.0.1'
            port = \(self.port)
            unix_socket_directories = ''
            max_connections = 200
            \(settings)

            """
        guard let handle = FileHandle(forUpdatingAtPath: self.dataDirectory + "/postgresql.conf") else {
            throw ServeProcess.Failure("cannot open \(self.dataDirectory)/postgresql.conf")
        }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }

    public func start() async throws {
        try await Self.tool(
            "pg_ctl", ["-D", self.dataDirectory, "-l", self.dataDirectory + ".log", "-w", "-t", "60", "start"])
    }

    /// `pg_ctl promote`, waiting until the server accepts writes.
    public func promote() async throws {
        try await Self.tool("pg_ctl", ["-D", self.dataDirectory, "-w", "-t", "60", "promote"])
    }

    /// SIGKILL to the postmaster: the machine is gone, as far as anyone can tell.
    public func kill() throws {
        let text = try String(contentsOfFile: self.dataDirectory + "/postmaster.pid", encoding: .utf8)
        guard let pid = text.split(separator: "\n").first.flatMap({ Int32($0) }) else {
            throw ServeProcess.Failure("no pid in postmaster.pid")
        }
        Glibc.kill(pid, SIGKILL)
    }

    /// Stops the server (immediate) and waits: synchronous, for `defer`.
    public func stop() {
        let command = [Self.binDirectory + "/pg_ctl", "-D", self.dataDirectory, "-m", "immediate", "-w", "stop"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: geteuid() == 0 ? "/usr/sbin/runuser" : command[0])
        process.arguments = geteuid() == 0 ? ["-u", "postgres", "--"] + command : Array(command.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }

    /// A URL for `user` on this server alone.
    public func url(database: String = "concord", user: String = "postgres") -> String {
        "postgres://\(user)@127.0.0.1:\(self.port)/\(database)?sslmode=disable"
    }

    /// Settings that reach this server alone, as the owner and as the service role.
    public func settings(database: String = "concord") throws -> DatabaseSettings {
        DatabaseSettings(
            owner: try DatabaseSettings.configuration(fromURL: self.url(database: database)),
            service: try DatabaseSettings.configuration(fromURL: self.url(database: database, user: "concord_service")))
    }

    /// `psql -c` on this server; returns its output (unaligned, tuples only).
    @discardableResult
    public func sql(_ statement: String, database: String = "postgres") async throws -> String {
        try await Self.tool(
            "psql", ["-h", "127.0.0.1", "-p", "\(self.port)", "-U", "postgres", "-d", database, "-Atc", statement])
    }

    /// Runs a PostgreSQL tool (as `postgres` when root); throws with its output when it fails.
    @discardableResult
    public static func tool(_ name: String, _ arguments: [String]) async throws -> String {
        try await Self.asPostgres(Self.binDirectory + "/" + name, arguments)
    }

    /// Runs a program as the user that owns the servers' files (`postgres` when root).
    @discardableResult
    public static func asPostgres(_ path: String, _ arguments: [String]) async throws -> String {
        if geteuid() == 0 {
            return try await Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments)
        }
        return try await Self.run(path, arguments)
    }

    /// swift-subprocess, as `LocalCluster` does: it closes every other descriptor in the child, so the server that
    /// `pg_ctl start` leaves running holds none of ours (Foundation's `Process` would then never see the tool end).
    private static func run(_ path: String, _ arguments: [String]) async throws -> String {
        let result = try await Subprocess.run(
            .path(FilePath(path)), arguments: Arguments(arguments),
            environment: .inherit.updating(["CONCORD_MASTER_KEY": nil, "CONCORD_MASTER_KEY_FILE": nil]),
            workingDirectory: FilePath("/"), output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        let output = result.standardOutput + result.standardError
        guard case .exited(0) = result.terminationStatus else {
            throw ServeProcess.Failure("\(path) \(arguments.joined(separator: " ")): \(output)")
        }
        return result.standardOutput
    }
}
