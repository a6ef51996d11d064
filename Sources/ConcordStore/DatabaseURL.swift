import Foundation
import PostgresNIO

/// A `DATABASE_URL` as libpq takes it: `postgres://user:password@h1:5432,h2:5433/database?sslmode=...&
/// target_session_attrs=read-write`, or the hosts in the query (`?host=h1,h2&port=5432,5433`, a `host` starting
/// with `/` being a Unix socket directory). Parsing is pure; `DatabaseSettings` turns the result into connections.
public struct DatabaseURL: Sendable, Hashable {
    /// One server named by the URL.
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        /// The socket file itself (`/dir/.s.PGSQL.5432`).
        case socket(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .socket(let path): path
            }
        }
    }

    public enum SSLMode: String, Sendable, Hashable { case disable, prefer, require }

    /// Which of the hosts a session may use (libpq's `target_session_attrs`).
    public enum Target: String, Sendable, Hashable, CaseIterable {
        case any, readWrite = "read-write", readOnly = "read-only", primary, standby
        case preferStandby = "prefer-standby"

        /// Whether a server in this state suits the target (`preferStandby` takes any, standbys first).
        func accepts(writable: Bool) -> Bool {
            switch self {
            case .any, .preferStandby: true
            case .readWrite, .primary: writable
            case .readOnly, .standby: !writable
            }
        }
    }

    public var endpoints: [Endpoint]
    public var user: String
    public var password: String?
    public var database: String?
    public var sslMode: SSLMode
    public var target: Target

    /// Parses `text`; a mistake is answered with a one-line message naming `variable` and the part at fault.
    public static func parse(_ text: String, variable: String = "DATABASE_URL") throws(DatabaseURLError) -> DatabaseURL
    {
        let fail = { (reason: String) in DatabaseURLError("\(variable): \(reason)") }
        guard let schemeEnd = text.range(of: "://"),
            ["postgres", "postgresql"].contains(text[..<schemeEnd.lowerBound].lowercased())
        else { throw fail("must look like postgres://user:password@host:5432/database") }
        var rest = text[schemeEnd.upperBound...]
        var queryText = ""
        if let mark = rest.firstIndex(of: "?") {
            queryText = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        let authority = rest.prefix { $0 != "/" }
        let path = String(rest.dropFirst(authority.count).drop { $0 == "/" })
        let query = try Self.query(queryText, fail: fail)
        var user = query["user"]
        var password = query["password"]
        var hostList = String(authority)
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostList = String(authority[authority.index(after: at)...])
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts[0].removingPercentEncoding else { throw fail("the user name is badly encoded") }
            if !name.isEmpty { user = name }
            if parts.count == 2 {
                guard let secret = parts[1].removingPercentEncoding else {
                    throw fail("the password is badly encoded")
                }
                password = secret
            }
        }
        guard let database = path.removingPercentEncoding else { throw fail("the database name is badly encoded") }
        let endpoints = try Self.endpoints(hostList: hostList, query: query, fail: fail)
        let loopback = endpoints.allSatisfy {
            if case .tcp(let host, _) = $0 { ["localhost", "127.0.0.1", "::1"].contains(host) } else { true }
        }
        let sslText = query["sslmode"] ?? (loopback ? "disable" : "prefer")
        let sslMode: SSLMode
        switch sslText {
        case "disable": sslMode = .disable
        case "prefer", "allow": sslMode = .prefer
        case "require", "verify-ca", "verify-full": sslMode = .require
        default: throw fail("sslmode \(sslText) is not one of disable, prefer, require")
        }
        let targetText = query["target_session_attrs"] ?? "any"
        guard let target = Target(rawValue: targetText) else {
            let known = Target.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("target_session_attrs \(targetText) is not one of \(known)")
        }
        return DatabaseURL(
            endpoints: endpoints, user: user ?? "postgres", password: password,
            database: database.isEmpty ? nil : database, sslMode: sslMode, target: target)
    }

    private static func query(
        _ text: String, fail: (String) -> DatabaseURLError
    ) throws(DatabaseURLError) -> [String: String] {
        var query: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard let value = (parts.count == 2 ? parts[1] : "").removingPercentEncoding else {
                throw fail("the query parameter \(name) is badly encoded")
            }
            query[name] = value
        }
        return query
    }

    /// The hosts of the authority (`h1:5432,[::1]:5433`), else of the query's `host` and `port` lists.
    private static func endpoints(
        hostList: String, query: [String: String], fail: (String) -> DatabaseURLError
    ) throws(DatabaseURLError) -> [Endpoint] {
        let queryPorts = (query["port"] ?? "").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var named: [(host: String, port: String?)] = []
        if !hostList.isEmpty {
            for item in hostList.split(separator: ",", omittingEmptySubsequences: false) {
                named.append(try Self.hostAndPort(String(item), index: named.count + 1, fail: fail))
            }
        } else {
            let hosts = (query["host"] ?? "localhost").split(separator: ",", omittingEmptySubsequences: false)
            named = hosts.map { (String($0), nil) }
        }
        var endpoints: [Endpoint] = []
        for (index, item) in named.enumerated() {
            let label = named.count > 1 ? "host \(index + 1) (\(item.host))" : "host \(item.host)"
            guard !item.host.isEmpty else { throw fail("host \(index + 1) is empty") }
            let portText =
                item.port
                ?? (queryPorts.count == named.count ? queryPorts[index] : queryPorts.count == 1 ? queryPorts[0] : "")
            let port = portText.isEmpty ? 5432 : Int(portText) ?? -1
            guard (1...65_535).contains(port) else {
                throw fail("\(label) has port \(portText), not a number from 1 to 65535")
            }
            endpoints.append(
                item.host.hasPrefix("/")
                    ? .socket(path: item.host + "/.s.PGSQL.\(port)") : .tcp(host: item.host, port: port))
        }
        return endpoints
    }

    private static func hostAndPort(
        _ item: String, index: Int, fail: (String) -> DatabaseURLError
    ) throws(DatabaseURLError) -> (host: String, port: String?) {
        if item.hasPrefix("[") {
            guard let close = item.firstIndex(of: "]") else { throw fail("host \(index) (\(item)) lacks its ]") }
            let host = String(item[item.index(after: item.startIndex)..<close])
            let after = item[item.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { throw fail("host \(index) (\(item)) is malformed") }
            return (host, after.isEmpty ? nil : String(after.dropFirst()))
        }
        let parts = item.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let host = parts[0].removingPercentEncoding else {
            throw fail("host \(index) (\(item)) is malformed: write host:port, an IPv6 address in [ ]")
        }
        return (host, parts.count == 2 ? String(parts[1]) : nil)
    }

    /// A client configuration for one endpoint of this URL.
    public func configuration(for endpoint: Endpoint) -> PostgresClient.Configuration {
        switch endpoint {
        case .socket(let path):
            return .init(unixSocketPath: path, username: self.user, password: self.password, database: self.database)
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS =
                switch self.sslMode {
                case .disable: .disable
                case .prefer: .prefer(.makeClientConfiguration())
                case .require: .require(.makeClientConfiguration())
                }
            return .init(
                host: host, port: port, username: self.user, password: self.password, database: self.database,
                tls: tls)
        }
    }
}
