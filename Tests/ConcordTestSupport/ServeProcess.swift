import ConcordCore
import ConcordStore
import Foundation
import PostgresNIO

#if canImport(Glibc)
    import Glibc
#endif

/// A `concord serve` child process on a port of its own: started, asked to stop with a signal, waited for.
public final class ServeProcess: Sendable {
    public let port: Int
    private let process: Process
    private let outputFile: URL
    private let exit: Task<Int32, Never>

    /// The environment a child needs for `settings`: the owner and the restricted service role, the tests' master
    /// key, a quiet log.
    public static func environment(_ settings: DatabaseSettings) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL(for: settings.owner)
        environment["CONCORD_SERVICE_DATABASE_URL"] = databaseURL(for: settings.service)
        environment["CONCORD_MASTER_KEY"] = TestDatabases.masterKeyText
        environment["CONCORD_MASTER_KEY_FILE"] = nil
        environment["CONCORD_CHECKPOINT_KEY"] = nil
        // Quiet by default; `CONCORD_TEST_LOG_LEVEL=debug swift test ...` shows a child's whole story on failure.
        environment["LOG_LEVEL"] = ProcessInfo.processInfo.environment["CONCORD_TEST_LOG_LEVEL"] ?? "error"
        return environment
    }

    /// Starts `concord serve` on a free port with `environment`.
    public init(environment: [String: String]) throws {
        self.port = try freePort()
        var environment = environment
        environment["CONCORD_PORT"] = "\(self.port)"
        environment["CONCORD_HOST"] = "127.0.0.1"
        let process = Process()
        process.executableURL = concordExecutable
        process.arguments = ["serve"]
        process.environment = environment
        self.outputFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "concord-serve-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: self.outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: self.outputFile)
        process.standardOutput = handle
        process.standardError = handle
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { finished in
            continuation.yield(finished.terminationStatus)
            continuation.finish()
        }
        try process.run()
        self.process = process
        self.exit = Task {
            for await status in stream { return status }
            return -1
        }
    }

    deinit {
        if self.process.isRunning { self.process.terminate() }
        try? FileManager.default.removeItem(at: self.outputFile)
    }

    /// What the process wrote so far.
    public var output: String { (try? String(contentsOf: self.outputFile, encoding: .utf8)) ?? "" }

    /// Waits until the port takes connections; throws when the process exits first or after `seconds`.
    public func waitUntilListening(seconds: Int = 60) async throws {
        try await poll(within: .seconds(seconds), "serve to listen: \(self.output)", every: .milliseconds(20)) {
            guard self.process.isRunning else { throw Failure("serve exited before listening: \(self.output)") }
            return canConnect(port: self.port)
        }
    }

    /// Waits until the port refuses connections (the server stopped listening).
    public func waitUntilNotListening(seconds: Int = 30) async throws {
        try await poll(within: .seconds(seconds), "serve to stop listening: \(self.output)", every: .milliseconds(10)) {
            !canConnect(port: self.port)
        }
    }

    public func signal(_ signal: Int32) {
        kill(self.process.processIdentifier, signal)
    }

    /// The exit status, once the process has exited.
    public func exitStatus() async -> Int32 { await self.exit.value }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}

/// A TCP port nothing listens on now (bound to port 0 and released).
public func freePort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw ServeProcess.Failure("socket: \(errno)") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw ServeProcess.Failure("bind: \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on the port of 127.0.0.1.
public func canConnect(port: Int) -> Bool {
    guard let connection = try? RawConnection(port: port) else { return false }
    connection.close()
    return true
}

/// A blocking TCP connection to 127.0.0.1, for HTTP written by hand: a request sent in pieces, its answer read
/// to the end. Each read waits at most 30 seconds.
public final class RawConnection: @unchecked Sendable {
    private let socket: Int32

    public init(port: Int) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ServeProcess.Failure("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(socket)
            throw ServeProcess.Failure("connect: \(errno)")
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.socket = socket
    }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(self.socket, $0.baseAddress, $0.count, 0) }
            guard written > 0 else { throw ServeProcess.Failure("send: \(errno)") }
            sent += written
        }
    }

    /// Everything the peer sends until it closes the connection (or a read times out).
    public func readToEnd() -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(self.socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// `readToEnd` on a thread of its own, so that the wait blocks no task.
    public func answer() async -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.readToEnd()) }
        }
    }

    public func close() { Glibc.close(self.socket) }
}
