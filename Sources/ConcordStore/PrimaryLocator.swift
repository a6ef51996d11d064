import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The one place that knows which of a URL's servers a session should use now: for `read-write` (what
/// `DATABASE_URL` names), the primary. It probes each server (`pg_is_in_recovery()`, `transaction_read_only`), keeps
/// the one that suits, checks it twice a second, and forgets it when it stops answering or stops suiting (a
/// failover, a switchover): the next connection probes again and finds the new one.
public final class PrimaryLocator: Sendable {
    public let url: DatabaseURL
    let logger: Logger
    private let current = Mutex<DatabaseURL.Endpoint?>(nil)
    private let tls: PostgresConnection.Configuration.TLS

    init(url: DatabaseURL, logger: Logger) throws {
        self.url = url
        self.logger = logger
        switch url.sslMode {
        case .disable: self.tls = .disable
        case .prefer: self.tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: self.tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }

    /// The server in use now, if one is known.
    public var endpoint: DatabaseURL.Endpoint? { self.current.withLock { $0 } }

    /// The server to connect to: the one known, else the first that suits, probing every server until one does or
    /// `deadline` passes (a failover in progress: the old primary is gone, the standby not yet promoted).
    func locate(within deadline: Duration) async -> DatabaseURL.Endpoint? {
        if let known = self.endpoint { return known }
        let end = ContinuousClock.now + deadline
        while !Task.isCancelled {
            if let found = await self.search() { return found }
            guard ContinuousClock.now + .milliseconds(200) < end else { return nil }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    /// One pass over the servers, in the URL's order (standbys first for `prefer-standby`).
    private func search() async -> DatabaseURL.Endpoint? {
        var fallback: DatabaseURL.Endpoint? = nil
        for endpoint in self.url.endpoints {
            guard let writable = await self.probe(endpoint) else { continue }
            if self.url.target == .preferStandby, writable {
                fallback = fallback ?? endpoint
                continue
            }
            if self.url.target.accepts(writable: writable) { return self.adopt(endpoint) }
        }
        return fallback.map(self.adopt)
    }

    private func adopt(_ endpoint: DatabaseURL.Endpoint) -> DatabaseURL.Endpoint {
        let previous = self.current.withLock { current in
            defer { current = endpoint }
            return current
        }
        if previous != endpoint {
            self.logger.notice(
                "database server chosen", metadata: ["server": "\(endpoint)", "target": "\(self.url.target.rawValue)"])
        }
        return endpoint
    }

    /// Checks the server in use; returns it when it no longer answers or no longer suits (and forgets it).
    func recheck() async -> DatabaseURL.Endpoint? {
        guard let known = self.endpoint else { return nil }
        let writable = await self.probe(known)
        if let writable, self.url.target.accepts(writable: writable) || self.url.target == .preferStandby {
            return nil
        }
        self.forget(known)
        self.logger.warning(
            "database server lost or no longer suits; looking for another",
            metadata: ["server": "\(known)", "target": "\(self.url.target.rawValue)"])
        return known
    }

    /// Forgets `endpoint` if it is the one in use (a connection to it failed).
    func forget(_ endpoint: DatabaseURL.Endpoint) {
        self.current.withLock { current in
            if current == endpoint { current = nil }
        }
    }

    /// Whether the server accepts writes (nil: it did not answer within 2 seconds).
    func probe(_ endpoint: DatabaseURL.Endpoint) async -> Bool? {
        var configuration: PostgresConnection.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            configuration = .init(
                host: host, port: port, username: self.url.user, password: self.url.password,
                database: self.url.database, tls: self.tls)
        case .socket(let path):
            configuration = .init(
                unixSocketPath: path, username: self.url.user, password: self.url.password,
                database: self.url.database)
        }
        configuration.options.connectTimeout = .seconds(2)
        let quiet = {
            var quiet = self.logger
            quiet.logLevel = .critical
            return quiet
        }()
        do {
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 0, logger: quiet
            ).get()
            defer { Task { try? await connection.close() } }
            return try await connection.run(within: .seconds(2)) { connection in
                let rows = try await connection.query(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')", logger: quiet
                ).collect()
                guard let row = rows.first else { return false }
                let (recovering, readOnly) = try row.decode((Bool, String).self)
                return !recovering && readOnly == "off"
            }
        } catch {
            return nil
        }
    }
}
