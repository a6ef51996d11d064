import ConcordCore
import ConcordHTTP
import ConcordStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Testing
import Synchronization

/// Fixtures of the HTTP suites: tokens, request bodies, answers, and the application on a real port.

/// Tokens for one test database, created as the owner (the service role may only read them).
public struct Tokens: Sendable {
    public var office: String
    public var otherOffice: String
    public var programme: String
    public var otherProgramme: String
    /// A programme that receives referrals: HEALTH.
    public var receiver: String
    public var auditor: String
    /// A coordinator of province P-01.
    public var coordinator: String
    public var admin: String

    public static func make(_ settings: DatabaseSettings) async throws -> Tokens {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let store = TokenStore(client: client, logger: TestDatabases.logger)
            return Tokens(
                office: try await store.create(role: .office, scope: "OFF-001", label: nil).secret,
                otherOffice: try await store.create(role: .office, scope: "OFF-002", label: nil).secret,
                programme: try await store.create(role: .programme, scope: "CCT", label: nil).secret,
                otherProgramme: try await store.create(role: .programme, scope: "PENSION", label: nil).secret,
                receiver: try await store.create(role: .programme, scope: "HEALTH", label: nil).secret,
                auditor: try await store.create(role: .auditor, scope: nil, label: nil).secret,
                coordinator: try await store.create(role: .coordinator, scope: "P-01", label: nil).secret,
                admin: try await store.create(role: .admin, scope: nil, label: nil).secret)
        }
    }

    /// One more token, for a role or scope the standard set lacks.
    public static func create(
        _ settings: DatabaseSettings, role: Role, scope: String?, label: String? = nil, focalPoint: Bool = false
    ) async throws -> String {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            try await TokenStore(client: client, logger: TestDatabases.logger)
                .create(role: role, scope: scope, label: label, focalPoint: focalPoint).secret
        }
    }

    /// Revokes the token whose secret is `secret`, as `concord token revoke` does.
    public static func revoke(_ settings: DatabaseSettings, secret: String) async throws {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let store = TokenStore(client: client, logger: TestDatabases.logger)
            let principal = try await store.authenticate(secret)
            guard let id = principal?.tokenID else { throw UnknownToken() }
            _ = try await store.revoke(id)
        }
    }

    struct UnknownToken: Error {}
}

/// An HTTP answer: its status, headers, and its body as JSON (a body that is not JSON is kept as a string in
/// `text`, and `json` is then `.null`, so that a check for an absent member cannot pass on an error page).
public struct Answer: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var json: JSONValue
    public var text: String

    public subscript(key: String) -> JSONValue? { self.json[key] }

    public init(status: HTTPResponse.Status, headers: HTTPFields, body bytes: [UInt8]) {
        self.status = status
        self.headers = headers
        self.json = bytes.isEmpty ? .null : ((try? JSONParser.parse(bytes)) ?? .null)
        self.text = String(decoding: bytes, as: UTF8.self)
    }
}

extension TestClientProtocol {
    public func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await self.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            Answer(status: response.status, headers: response.headers, body: Array(buffer: response.body))
        }
    }

    /// `send`, on a connection of its own: the test client's one connection serves requests one after the other,
    /// so requests meant to race must each have their own.
    public func sendApart(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Answer {
        let port = try #require(self.port)
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let request = TestClient.Request(
            uri, method: method, authority: "127.0.0.1", headers: headers, body: body.map { ByteBuffer(string: $0) })
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(request)
        }
        return Answer(
            status: response.head.status, headers: response.head.headerFields,
            body: response.body.map { Array(buffer: $0) } ?? [])
    }
}

extension HTTPFields {
    /// Headers with an `Idempotency-Key`.
    public static func idempotencyKey(_ key: String) -> HTTPFields {
        var fields = HTTPFields()
        if let name = HTTPField.Name("Idempotency-Key") { fields.append(HTTPField(name: name, value: key)) }
        return fields
    }
}

/// Request bodies of the HTTP suites: one per kind of case, with the demo reference data's codes.
public enum Body {
    /// A complaint about CCT lodged by OFF-001 in district D-01 (province P-01), with a named complainant.
    public static let complaint = """
        {"channel":"walk_in","programme":"CCT","category":"payment_delay","description":"The March payment is late.",
         "area":"D-01","office":"OFF-001","anonymous":false,"complainant":{"name":"Amina Diallo","phone":"+221770000000"},
         "contact_preference":"sms","sensitive":false}
        """

    /// A referral from CCT to HEALTH for a household.
    public static let referral = """
        {"source":"CCT","receiver":"HEALTH","person":{"kind":"household","reference":"HH-42","form_fields":{"members":"5"}},
         "reason":"Child needs a nutrition assessment.","urgency":"priority","referral_type":"health"}
        """

    /// An appeal against an eligibility decision of CCT, lodged by OFF-001.
    public static let appeal = """
        {"against":"eligibility","grounds":"The household was wrongly scored.","programme":"CCT","area":"D-01",
         "office":"OFF-001","anonymous":false,"appellant":{"name":"Amina Diallo"},"contact_preference":"in_person"}
        """
}

/// The demo reference data of `deploy/demo-reference.json` (programmes CCT, PENSION, HEALTH, ...; offices OFF-001...).
public let demoReference: URL = URL(fileURLWithPath: TestDatabases.projectDirectory)
    .appendingPathComponent("deploy/demo-reference.json")

/// Records the tests' master key and imports the demo reference data, as `make serve` does before `serve`.
public func prepareForServing(_ settings: DatabaseSettings, logger: Logger = TestDatabases.logger) async throws {
    try await PostgresClient.withRunning(settings.service, logger: logger) { client in
        try await PersonalDataVault(client: client, master: TestDatabases.masterKey, logger: logger)
            .checkMasterKey(using: client)
    }
    let file = try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: demoReference))
    try await withStore(settings: settings) { store in
        let data = ReferenceData()
        try await data.load(from: store)
        try await data.importFile(file, store: store, metadata: EventMetadata(actor: "test", role: "admin"))
    }
}

/// The application's context over `client`, as `concord serve` builds it.
public func applicationContext(
    client: PostgresClient, trackingLimit: Int = 60, logger: Logger, metrics: ConcordMetrics = ConcordMetrics()
) throws -> AppContext {
    let store = EventStore(client: client, logger: logger, metrics: metrics.factory)
    return AppContext(
        client: client, store: store, migrator: Migrator(migrations: try Migration.bundled(), logger: logger),
        tokens: TokenStore(client: client, logger: logger), reference: ReferenceFollower(store: store, logger: logger),
        vault: PersonalDataVault(client: client, master: TestDatabases.masterKey, logger: logger),
        trackingLimit: trackingLimit, metrics: metrics)
}

/// Runs the application on a real port over `settings`' database, with the demo reference data imported first.
/// `configure` changes the context before the application is built (a clock, checkpoints, ...).
public func withApplication(
    settings: DatabaseSettings, trackingLimit: Int = 60, importReference: Bool = true,
    logger: Logger = TestDatabases.logger, metrics: ConcordMetrics = ConcordMetrics(),
    configure: @Sendable (inout AppContext) -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    if importReference { try await prepareForServing(settings, logger: logger) }
    let client = PostgresClient(configuration: settings.service, backgroundLogger: logger)
    var context = try applicationContext(
        client: client, trackingLimit: trackingLimit, logger: logger, metrics: metrics)
    configure(&context)
    // A real listening socket and a real HTTP client: the boundary is tested as it is crossed in production.
    try await buildApplication(context, port: 0, logger: logger).test(.live, body)
}

/// Every line the application logs, at every level, with its metadata.
public final class CapturedLog: Sendable {
    public let lines = Mutex<[String]>([])

    public init() {}

    public var logger: Logger {
        var logger = Logger(label: "concord-captured") { label in Handler(sink: self, label: label) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let sink: CapturedLog
        let label: String
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
            self.sink.lines.withLock { $0.append("\(event.level) \(event.message) \(merged)") }
        }
    }
}

extension JSONValue {
    public var stringArray: [String]? {
        guard case .array(let elements) = self else { return nil }
        return elements.compactMap(\.stringValue)
    }

    /// The `field` of each problem in an `errors` array.
    public var fields: [String]? {
        guard case .array(let elements) = self else { return nil }
        return elements.compactMap { $0["field"]?.stringValue }
    }

    /// The members of an object; nil for anything else (an error page read as JSON is never "an object without").
    public var objectMembers: JSONObject? {
        guard case .object(let members) = self else { return nil }
        return members
    }
}

/// Every route of the application's router, as its method and its path with `{capture}`s, as the router holds
/// them (built over a client that is never run, so nothing connects).
public func applicationRoutes() throws -> [(method: HTTPRequest.Method, path: String)] {
    let logger = TestDatabases.logger
    let client = PostgresClient(
        configuration: .init(host: "localhost", username: "nobody", password: nil, database: nil, tls: .disable),
        backgroundLogger: logger)
    let router = buildRouter(
        try applicationContext(client: client, logger: logger), logger: logger, answering405: false)
    return router.routes.map { ($0.method, $0.path.description) }
}

/// Code blocks of the documents, run as their readers run them.
public enum DocumentedPython {
    public struct MissingBlock: Error, CustomStringConvertible {
        public var description: String
    }

    /// The fenced `python` block of `document` (a path under the package root) that contains `marker`.
    public static func block(in document: String, after marker: String) throws -> String {
        let url = URL(fileURLWithPath: TestDatabases.projectDirectory).appendingPathComponent(document)
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let hit = text.range(of: marker),
            let start = text.range(of: "```python", options: .backwards, range: text.startIndex..<hit.lowerBound),
            let firstLine = text.range(of: "\n", range: start.upperBound..<text.endIndex),
            let end = text.range(of: "\n```", range: hit.upperBound..<text.endIndex)
        else { throw MissingBlock(description: "no python block with \(marker) in \(document)") }
        return String(text[firstLine.upperBound..<end.lowerBound])
    }

    /// Runs `program` with `python3`; its exit status and output.
    public static func run(_ program: String, arguments: [String]) async throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("concord-doc-\(UUID().uuidString).py")
        try program.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try await runProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", file.path] + arguments,
            environment: ProcessInfo.processInfo.environment)
    }
}
