import ConcordCore
import Crypto
import Foundation
import Logging
import Subprocess
import SystemPackage

/// The private PostgreSQL cluster used when `DATABASE_URL` is unset: `initdb` and `pg_ctl` from the installed
/// PostgreSQL, data under `.concord/postgres`, reachable only through a Unix socket in the data directory.
///
/// PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user.
public struct LocalCluster: Sendable {
    public var dataDirectory: String
    public var socketDirectory: String
    var runAsUser: String?
    var binDirectory: String
    var logger: Logger

    /// The superuser role created by `initdb`; migrations and tests connect as it.
    public static let ownerRole = "postgres"
    public static let databaseName = "concord"

    public init(projectDirectory: String, logger: Logger) throws(ClusterError) {
        self.logger = logger
        self.binDirectory = try Self.findBinDirectory()
        self.runAsUser = geteuid() == 0 ? "postgres" : nil
        var dataDirectory = projectDirectory + "/.concord/postgres"
        if self.runAsUser != nil, !Self.userCanReach(URL(fileURLWithPath: projectDirectory).path, user: "postgres") {
            // The postgres user cannot enter the checkout (say, under /root): keep the data where it can.
            let digest = Array(SHA256.hash(data: Array(projectDirectory.utf8))).hexString.prefix(12)
            dataDirectory = "/var/lib/concord/\(digest)/postgres"
            logger.notice("the postgres user cannot reach the checkout; private cluster data lives in \(dataDirectory)")
        }
        self.dataDirectory = dataDirectory
        // Unix socket paths are limited to about 100 bytes.
        self.socketDirectory =
            dataDirectory.utf8.count < 80
            ? dataDirectory
            : "/tmp/concord-" + Array(SHA256.hash(data: Array(dataDirectory.utf8))).hexString.prefix(12)
    }

    public var socketPath: String { self.socketDirectory + "/.s.PGSQL.5432" }

    /// Creates the cluster if needed and starts it if it is not running. Returns true when this call started it
    /// (and so should stop it on exit); false when it was already running.
    public func start() async throws(ClusterError) -> Bool {
        try await self.prepareDirectories()
        if !FileManager.default.fileExists(atPath: self.dataDirectory + "/PG_VERSION") {
            self.logger.info("creating the private PostgreSQL cluster", metadata: ["data": "\(self.dataDirectory)"])
            try await self.run(
                "initdb",
                [
                    "-D", self.dataDirectory, "-U", Self.ownerRole, "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-instructions",
                ])
            let settings = """

                # Concord private cluster: no TCP, socket in the data directory.
                listen_addresses = ''
                unix_socket_directories = '\(self.socketDirectory)'
                max_connections = 200

                """
            guard let handle = FileHandle(forUpdatingAtPath: self.dataDirectory + "/postgresql.conf") else {
                throw ClusterError("cannot open \(self.dataDirectory)/postgresql.conf")
            }
            handle.seekToEndOfFile()
            handle.write(Data(settings.utf8))
            handle.closeFile()
        }
        if await self.isRunning() { return false }
        do {
            try await self.run(
                "pg_ctl",
                ["-D", self.dataDirectory, "-l", self.dataDirectory + "/../postgres.log", "-w", "-t", "60", "start"])
        } catch {
            // Another process (a concurrent `make test` or `make serve`) may have started it first.
            if await self.isRunning() { return false }
            throw error
        }
        return true
    }

    /// Stops the cluster and waits for it. Synchronous, so that it can run from `defer` and at process exit.
    public func stop() {
        let process = Process()
        let command = [self.binDirectory + "/pg_ctl", "-D", self.dataDirectory, "-m", "fast", "-w", "stop"]
        process.executableURL = URL(fileURLWithPath: self.runAsUser == nil ? command[0] : "/usr/sbin/runuser")
        process.arguments = self.runAsUser.map { ["-u", $0, "--"] + command } ?? Array(command.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }

    /// Stops the server now: `immediate` is a crash for the clients (no clean disconnect), `fast` a clean one.
    /// Fault tests use it under a running service.
    public func stopServer(mode: String = "immediate") async throws(ClusterError) {
        try await self.run("pg_ctl", ["-D", self.dataDirectory, "-m", mode, "-w", "-t", "60", "stop"])
    }

    /// Starts a cluster that `stopServer` stopped.
    public func startServer() async throws(ClusterError) {
        try await self.run(
            "pg_ctl",
            ["-D", self.dataDirectory, "-l", self.dataDirectory + "/../postgres.log", "-w", "-t", "60", "start"])
    }

    /// `pg_ctl restart` in `mode` (the log file is named again: the server must not inherit our output pipes).
    public func restartServer(mode: String = "immediate") async throws(ClusterError) {
        try await self.run(
            "pg_ctl",
            [
                "-D", self.dataDirectory, "-l", self.dataDirectory + "/../postgres.log", "-m", mode, "-w", "-t", "60",
                "restart",
            ])
    }

    public func isRunning() async -> Bool {
        (try? await self.run("pg_ctl", ["-D", self.dataDirectory, "status"], quiet: true)) != nil
    }

    private func prepareDirectories() async throws(ClusterError) {
        let parent = URL(fileURLWithPath: self.dataDirectory).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: self.dataDirectory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: self.socketDirectory, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: self.dataDirectory)
        } catch {
            throw ClusterError("cannot create \(self.dataDirectory): \(error.localizedDescription)")
        }
        if let user = self.runAsUser {
            try await self.runTool("/bin/chown", [user, parent, self.socketDirectory])
            try await self.runTool("/bin/chown", ["-R", user, self.dataDirectory])
        }
    }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String], quiet: Bool = false) async throws(ClusterError) -> String {
        let path = self.binDirectory + "/" + tool
        if let user = self.runAsUser {
            return try await self.runTool("/usr/sbin/runuser", ["-u", user, "--", path] + arguments, quiet: quiet)
        }
        return try await self.runTool(path, arguments, quiet: quiet)
    }

    /// Runs a tool to completion. swift-subprocess closes every other descriptor in the child, which matters here:
    /// the server that `pg_ctl start` leaves running would otherwise inherit ours and keep them open forever.
    @discardableResult
    private func runTool(
        _ path: String, _ arguments: [String], quiet: Bool = false
    ) async throws(ClusterError) -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let status: TerminationStatus
        let text: String
        do {
            let result = try await Subprocess.run(
                .path(FilePath(path)), arguments: Arguments(arguments),
                // The server it starts keeps this environment for its life: no secret of ours goes with it.
                environment: .inherit.updating(["CONCORD_MASTER_KEY": nil, "CONCORD_MASTER_KEY_FILE": nil]),
                workingDirectory: FilePath("/"),
                output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            status = result.terminationStatus
            text = result.standardOutput + result.standardError
        } catch {
            throw ClusterError("cannot run \(name): \(error)")
        }
        guard case .exited(0) = status else {
            if !quiet { self.logger.debug("\(name) failed", metadata: ["output": "\(text)"]) }
            throw ClusterError(
                "\(name) \(arguments.last ?? "") failed: \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return text
    }

    private static func findBinDirectory() throws(ClusterError) -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw ClusterError(
            "no PostgreSQL server found under \(root): install it (apt-get install postgresql) or set DATABASE_URL")
    }

    private static func userCanReach(_ path: String, user: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = ["-u", user, "--", "test", "-x", path]
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

public struct ClusterError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
