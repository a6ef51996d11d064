import ConcordCore
import Crypto
import Foundation
import Logging

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
    public func start() throws(ClusterError) -> Bool {
        try self.prepareDirectories()
        if !FileManager.default.fileExists(atPath: self.dataDirectory + "/PG_VERSION") {
            self.logger.info("creating the private PostgreSQL cluster", metadata: ["data": "\(self.dataDirectory)"])
            try self.run(
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
        if self.isRunning() { return false }
        do {
            try self.run(
                "pg_ctl",
                ["-D", self.dataDirectory, "-l", self.dataDirectory + "/../postgres.log", "-w", "-t", "60", "start"])
        } catch {
            // Another process (a concurrent `make test` or `make serve`) may have started it first.
            if self.isRunning() { return false }
            throw error
        }
        return true
    }

    public func stop() {
        _ = try? self.run("pg_ctl", ["-D", self.dataDirectory, "-m", "fast", "-w", "stop"])
    }

    public func isRunning() -> Bool {
        (try? self.run("pg_ctl", ["-D", self.dataDirectory, "status"], quiet: true)) != nil
    }

    private func prepareDirectories() throws(ClusterError) {
        let parent = URL(fileURLWithPath: self.dataDirectory).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: self.dataDirectory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: self.socketDirectory, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: self.dataDirectory)
        } catch {
            throw ClusterError("cannot create \(self.dataDirectory): \(error.localizedDescription)")
        }
        if let user = self.runAsUser {
            try self.runTool("/bin/chown", [user, parent, self.socketDirectory])
            try self.runTool("/bin/chown", ["-R", user, self.dataDirectory])
        }
    }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String], quiet: Bool = false) throws(ClusterError) -> String {
        let path = self.binDirectory + "/" + tool
        if let user = self.runAsUser {
            return try self.runTool("/usr/sbin/runuser", ["-u", user, "--", path] + arguments, quiet: quiet)
        }
        return try self.runTool(path, arguments, quiet: quiet)
    }

    @discardableResult
    private func runTool(_ path: String, _ arguments: [String], quiet: Bool = false) throws(ClusterError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        // A file, not a pipe: the server that `pg_ctl start` leaves running would hold a pipe open forever.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent(
            "concord-\(UUID().uuidString).out"
        ).path
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
            let output = FileHandle(forWritingAtPath: outputPath)
        else { throw ClusterError("cannot create \(outputPath)") }
        defer {
            try? output.close()
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw ClusterError("cannot run \(path): \(error.localizedDescription)") }
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            if !quiet { self.logger.debug("\(path) failed", metadata: ["output": "\(text)"]) }
            let name = URL(fileURLWithPath: path).lastPathComponent
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
