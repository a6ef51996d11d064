import ConcordStore
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real `concord serve` process over a database, on a port of its own, its output in a file; the test signals it
/// as an operator or a crash would.
public final class ServeNode: Sendable {
    public let port: Int
    public let logFile: URL
    public let processIdentifier: Int32
    private let exit = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    /// Starts `concord serve` against `settings` (the owner migrates, the service role serves), and returns once it
    /// answers `/healthz`.
    public static func start(
        _ settings: DatabaseSettings, environment extra: [String: String] = [:],
        within deadline: Duration = .seconds(60)
    ) async throws -> ServeNode {
        let port = try freePort()
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "concord-serve-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = concordExecutable
        process.arguments = ["serve"]
        process.environment = serveEnvironment(settings).merging(
            ["CONCORD_PORT": "\(port)", "CONCORD_HOST": "127.0.0.1"].merging(extra) { _, new in new }
        ) { _, new in new }
        process.standardOutput = handle
        process.standardError = handle
        let box = Mutex<ServeNode?>(nil)
        process.terminationHandler = { finished in
            box.withLock { $0 }?.exited(finished.terminationStatus)
        }
        try process.run()
        try? handle.close()
        let serve = ServeNode(port: port, logFile: logFile, processIdentifier: process.processIdentifier)
        box.withLock { $0 = serve }
        if !process.isRunning { serve.exited(process.terminationStatus) }
        do {
            try await poll(within: deadline, "concord serve answers /healthz\n\(serve.log)") {
                if serve.hasExited { throw ProcessEnded(log: serve.log) }
                return (try? await HTTP.send(.get, serve.url("/healthz"), timeout: .seconds(2)))?.status == 200
            }
        } catch {
            serve.signal(SIGKILL)
            throw error
        }
        return serve
    }

    private init(port: Int, logFile: URL, processIdentifier: Int32) {
        self.port = port
        self.logFile = logFile
        self.processIdentifier = processIdentifier
    }

    public func url(_ path: String) -> URL {
        URL(string: "http://127.0.0.1:\(self.port)\(path)")!
    }

    public var log: String { (try? String(contentsOf: self.logFile, encoding: .utf8)) ?? "" }

    public var hasExited: Bool { self.exit.withLock { $0.status != nil } }

    public func signal(_ signal: Int32) {
        guard !self.hasExited else { return }
        kill(self.processIdentifier, signal)
    }

    /// The exit status, or nil if the process has not exited within `deadline`.
    public func waitForExit(within deadline: Duration) async -> Int32? {
        await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let status = self.exit.withLock { state -> Int32? in
                        if state.status == nil { state.waiters.append(continuation) }
                        return state.status
                    }
                    if let status { continuation.resume(returning: status) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if first == nil { self.signal(SIGKILL) }  // so that the waiting child task ends too
            return first
        }
    }

    /// Kills the process if it still runs and removes its log.
    public func discard() {
        self.signal(SIGKILL)
        try? FileManager.default.removeItem(at: self.logFile)
    }

    private func exited(_ status: Int32) {
        let waiters = self.exit.withLock { state in
            state.status = status
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    /// What `concord` needs to reach `settings`' database, with the tests' master key.
    public static func serveEnvironment(_ settings: DatabaseSettings) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL(for: settings.owner)
        environment["CONCORD_SERVICE_DATABASE_URL"] = databaseURL(for: settings.service)
        environment["CONCORD_MASTER_KEY"] = TestDatabases.masterKeyText
        environment["CONCORD_MASTER_KEY_FILE"] = nil
        environment["LOG_LEVEL"] = "info"
        return environment
    }
}

public struct ProcessEnded: Error, CustomStringConvertible {
    public var log: String
    public var description: String { "concord serve exited early:\n\(self.log)" }
}

public struct DeadlinePassed: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "gave up waiting until: \(self.what)" }
}

/// Checks `condition` again and again (a short pause between checks, so as not to spin) until it holds; throws
/// `DeadlinePassed` naming `what` once `deadline` has passed. For conditions on another process, which nothing in
/// this one is told about.
public func poll(
    within deadline: Duration = .seconds(30), _ what: @autoclosure () -> String,
    every period: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async throws {
    let end = ContinuousClock.now + deadline
    while true {
        if try await condition() { return }
        guard ContinuousClock.now < end else { throw DeadlinePassed(what: what()) }
        try await Task.sleep(for: period)
    }
}

/// A port nothing listens on now (the kernel's choice for port 0).
func unusedFreePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw CocoaError(.fileReadUnknown) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
            bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
        }
    }
    guard bound else { throw CocoaError(.fileReadUnknown) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A plain HTTP client over URLSession, for talking to a real process.
public enum HTTP {
    public struct Answer: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
    }

    public enum Method: String, Sendable { case get = "GET", post = "POST" }

    public static func send(
        _ method: Method, _ url: URL, token: String? = nil, body: String? = nil,
        headers extra: [String: String] = [:], timeout: Duration = .seconds(30)
    ) async throws -> Answer {
        var request = URLRequest(url: url)
        request.httpMethod = method.rawValue
        request.timeoutInterval = Double(timeout.components.seconds) + 0.001
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in extra { request.setValue(value, forHTTPHeaderField: name) }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = request.timeoutInterval
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return Answer(status: http?.statusCode ?? 0, headers: headers, body: String(decoding: data, as: UTF8.self))
    }
}
