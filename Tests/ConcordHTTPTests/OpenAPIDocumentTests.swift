import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Keeps `docs/openapi.yaml` and the code in step: the served document is the file, every command of every kind has
/// its documented path and every documented path is a route, and the live app answers with statuses the document
/// lists.
@Suite struct OpenAPIDocumentTests {
    /// `docs/openapi.yaml` of this checkout.
    static let documentURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "docs/openapi.yaml")

    static func document() throws -> DocumentedAPI {
        DocumentedAPI(yaml: try String(contentsOf: Self.documentURL, encoding: .utf8))
    }

    /// The kinds, as the router mounts them: collection, creation command, command names.
    static let kinds: [(collection: String, commands: [String])] = [
        ("complaints", Self.commands(Complaint.self, creation: .lodge)),
        ("appeals", Self.commands(Appeal.self, creation: .lodge)),
        ("referrals", Self.commands(Referral.self, creation: .create)),
    ]

    static func commands<Machine: StateMachine>(_: Machine.Type, creation: Machine.CommandName) -> [String] {
        Machine.CommandName.allCases.filter { $0 != creation }.map(\.rawValue)
    }

    /// Every route of the application's router, as `method path` (the router spells captures `{id}` as the
    /// document does); a case's `{command}` capture is spelled out once per command of its kind, as the document
    /// lists each command as a path of its own.
    static func routes() throws -> Set<String> {
        let commands = Dictionary(uniqueKeysWithValues: Self.kinds.map { ($0.collection, $0.commands) })
        var routes: Set<String> = []
        // The web workspace's pages (`WebController`) are HTML, not API: the document holds /v1 and the service
        // routes only.
        let service: Set<String> = ["/healthz", "/readyz", "/metrics", "/openapi.yaml"]
        for (method, path) in try applicationRoutes() where path.hasPrefix("/v1/") || service.contains(path) {
            let verb = method.rawValue.lowercased()
            let parts = path.split(separator: "/").map(String.init)
            if parts.count == 4, parts[0] == "v1", parts[3].hasPrefix("{"), let names = commands[parts[1]] {
                for name in names { routes.insert("\(verb) /v1/\(parts[1])/\(parts[2])/\(name)") }
            } else {
                routes.insert("\(verb) \(path)")
            }
        }
        return routes
    }

    @Test func theServedDocumentIsTheFile() async throws {
        let file = try Data(contentsOf: Self.documentURL)
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/yaml")
                #expect(Data(buffer: response.body) == file, "rebuild after editing docs/openapi.yaml")
            }
        }
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() throws {
        let document = try Self.document()
        let documented = Set(
            document.operations.flatMap { path, methods in methods.keys.map { "\($0) \(path)" } })
        let routes = try Self.routes()
        // The router holds the health routes, the lists, audit, subjects, tracking and the three kinds of case.
        #expect(routes.count > 40, "\(routes.sorted())")
        #expect(routes.contains("post /v1/referrals/{id}/acknowledge_feedback"))
        let undocumented = routes.subtracting(documented).sorted()
        let unknown = documented.subtracting(routes).sorted()
        #expect(undocumented.isEmpty, "routes missing from docs/openapi.yaml: \(undocumented)")
        #expect(unknown.isEmpty, "documented operations that are no route: \(unknown)")
    }

    @Test func theLiveAppAnswersWithDocumentedStatuses() async throws {
        let document = try Self.document()
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let admin = try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            try await TokenStore(client: client, logger: TestDatabases.logger).create(
                role: .admin, scope: nil, label: nil
            ).secret
        }
        try await withApplication(settings: settings, trackingLimit: 4) { client in
            /// Sends a request and checks that the document lists its status for `template` and `method`.
            @discardableResult
            func check(
                _ method: HTTPRequest.Method, _ template: String, _ uri: String, token: String?, body: String? = nil,
                headers: HTTPFields = [:], expecting expected: HTTPResponse.Status? = nil
            ) async throws -> Answer {
                let answer = try await client.send(method, uri, token: token, body: body, headers: headers)
                let listed = document.statuses(template, method.rawValue.lowercased())
                #expect(
                    listed.contains(answer.status.code),
                    "\(method) \(uri) answered \(answer.status.code), not in \(listed.sorted()): \(answer.json)")
                if let expected { #expect(answer.status == expected, "\(method) \(uri): \(answer.json)") }
                if answer.status.code >= 400 {
                    #expect(answer.headers[.contentType] == "application/problem+json", "\(method) \(uri)")
                }
                return answer
            }

            try await check(.get, "/healthz", "/healthz", token: nil, expecting: .ok)
            try await check(.get, "/readyz", "/readyz", token: nil, expecting: .ok)
            try await check(.get, "/openapi.yaml", "/openapi.yaml", token: nil, expecting: .ok)
            try await check(.get, "/metrics", "/metrics", token: nil, expecting: .ok)
            try await check(.get, "/healthz", "/healthz", token: "concord_forged", expecting: .unauthorized)

            let collection = "/v1/complaints"
            let lodged = try await check(.post, collection, collection, token: tokens.office, body: Body.complaint)
            #expect(lodged.status == .created)
            let id = try #require(lodged["id"]?.stringValue)
            try await check(.post, collection, collection, token: tokens.office, body: "{", expecting: .badRequest)
            try await check(.post, collection, collection, token: nil, body: Body.complaint, expecting: .unauthorized)
            try await check(
                .post, collection, collection, token: tokens.office, body: Body.complaint,
                headers: [.contentType: "text/plain"], expecting: .unsupportedMediaType)
            try await check(
                .post, collection, collection, token: tokens.auditor, body: Body.complaint,
                expecting: .unprocessableContent)

            let item = "/v1/complaints/{id}"
            try await check(.get, item, "/v1/complaints/\(id)", token: tokens.auditor, expecting: .ok)
            try await check(.get, item, "/v1/complaints/C-2345-678", token: tokens.office, expecting: .notFound)
            try await check(.get, item, "/v1/complaints/\(id)", token: nil, expecting: .unauthorized)

            let acknowledge = "/v1/complaints/{id}/acknowledge"
            let acknowledgeURI = "/v1/complaints/\(id)/acknowledge"
            try await check(
                .post, acknowledge, acknowledgeURI, token: tokens.auditor, body: "{}", expecting: .forbidden)
            try await check(
                .post, acknowledge, acknowledgeURI, token: tokens.programme, body: "{}", headers: [.ifMatch: "\"9\""],
                expecting: .preconditionFailed)
            try await check(
                .post, acknowledge, acknowledgeURI, token: tokens.programme, body: #"{"at":"now"}"#,
                expecting: .badRequest)
            try await check(
                .post, "/v1/complaints/{id}/resolve", "/v1/complaints/\(id)/resolve", token: tokens.programme,
                body: #"{"outcome":"upheld","actions_taken":"Paid."}"#, expecting: .conflict)
            try await check(
                .post, "/v1/complaints/{id}/add_note", "/v1/complaints/\(id)/add_note", token: tokens.programme,
                body: "{\"text\":\"" + String(repeating: "x", count: 70_000) + "\"}", expecting: .contentTooLarge)
            try await check(
                .post, "/v1/complaints/{id}/add_note", "/v1/complaints/\(id)/add_note", token: tokens.programme,
                body: #"{"text":"  "}"#, expecting: .unprocessableContent)
            try await check(.post, acknowledge, acknowledgeURI, token: tokens.programme, body: "{}", expecting: .ok)

            // Every documented command, on a case of its kind, answers a documented status: never "no such
            // command", never a server error.
            let appeal = try await check(.post, "/v1/appeals", "/v1/appeals", token: admin, body: Body.appeal)
            let referral = try await check(
                .post, "/v1/referrals", "/v1/referrals", token: admin,
                body:
                    #"{"source":"OFF-001","receiver":"HEALTH","person":{"kind":"person","reference":"P-9","form_fields":{}},"#
                    + #""reason":"Needs a check-up.","urgency":"routine","referral_type":"health"}"#)
            let created = [
                "complaints": id,
                "appeals": try #require(appeal["id"]?.stringValue, "\(appeal.json)"),
                "referrals": try #require(referral["id"]?.stringValue, "\(referral.json)"),
            ]
            for (collection, commands) in Self.kinds {
                let caseID = try #require(created[collection])
                for command in commands {
                    let answer = try await check(
                        .post, "/v1/\(collection)/{id}/\(command)", "/v1/\(collection)/\(caseID)/\(command)",
                        token: admin, body: "{}")
                    #expect(answer["title"] != "No such command", "\(collection) \(command)")
                }
            }

            // The lists and the indicators, read from the projection: found, refused, out of scope.
            let queue = "/v1/programmes/{code}/queue"
            try await check(.get, queue, "/v1/programmes/CCT/queue", token: tokens.programme, expecting: .ok)
            try await check(
                .get, queue, "/v1/programmes/CCT/queue?overdue=true&kind=complaint&limit=1", token: tokens.programme,
                expecting: .ok)
            try await check(
                .get, queue, "/v1/programmes/CCT/queue?limit=0", token: tokens.programme, expecting: .badRequest)
            try await check(
                .get, queue, "/v1/programmes/CCT/queue?colour=red", token: tokens.programme, expecting: .badRequest)
            try await check(
                .get, queue, "/v1/programmes/CCT/queue?after=nonsense", token: tokens.programme,
                expecting: .badRequest)
            try await check(
                .get, queue, "/v1/programmes/CCT/queue", token: tokens.otherProgramme, expecting: .notFound)
            try await check(.get, queue, "/v1/programmes/NOPE/queue", token: admin, expecting: .notFound)
            try await check(.get, queue, "/v1/programmes/CCT/queue", token: nil, expecting: .unauthorized)
            let officeCases = "/v1/offices/{code}/cases"
            try await check(
                .get, officeCases, "/v1/offices/OFF-001/cases?feedback_waiting=true", token: tokens.office,
                expecting: .ok)
            try await check(
                .get, officeCases, "/v1/offices/OFF-001/cases?feedback_waiting=maybe", token: tokens.office,
                expecting: .badRequest)
            try await check(
                .get, officeCases, "/v1/offices/OFF-001/cases", token: tokens.otherProgramme, expecting: .notFound)
            let loops = "/v1/loops"
            try await check(
                .get, loops, "/v1/loops?loop=overdue&min_age_days=0", token: tokens.auditor, expecting: .ok)
            try await check(.get, loops, "/v1/loops?loop=closed", token: tokens.auditor, expecting: .badRequest)
            try await check(.get, loops, "/v1/loops?area=NOWHERE", token: tokens.auditor, expecting: .badRequest)
            let escalations = "/v1/areas/{code}/escalations"
            try await check(.get, escalations, "/v1/areas/D-01/escalations", token: tokens.auditor, expecting: .ok)
            try await check(.get, escalations, "/v1/areas/D-01/escalations", token: tokens.office, expecting: .notFound)
            try await check(.get, escalations, "/v1/areas/NOWHERE/escalations", token: admin, expecting: .notFound)
            let indicators = "/v1/indicators"
            try await check(
                .get, indicators, "/v1/indicators?group_by=area&level=province", token: tokens.auditor, expecting: .ok)
            let csv = try await check(
                .get, indicators, "/v1/indicators", token: tokens.auditor, headers: [.accept: "text/csv"],
                expecting: .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            try await check(
                .get, indicators, "/v1/indicators?group_by=area&level=village", token: tokens.auditor,
                expecting: .badRequest)
            try await check(
                .get, indicators, "/v1/indicators?from=2027-01-01T00:00:00.000000Z&to=2026-01-01T00:00:00.000000Z",
                token: tokens.auditor, expecting: .badRequest)
            try await check(.get, indicators, "/v1/indicators", token: nil, expecting: .unauthorized)

            // Finding cases, and the redacted view.
            let cases = "/v1/cases"
            try await check(.get, cases, "/v1/cases?phone=%2B221770000000", token: tokens.office, expecting: .ok)
            try await check(.get, cases, "/v1/cases?phone=123", token: tokens.auditor, expecting: .forbidden)
            try await check(.get, cases, "/v1/cases?from=yesterday", token: tokens.office, expecting: .badRequest)
            try await check(.get, cases, "/v1/cases", token: nil, expecting: .unauthorized)
            let sensitive = "/v1/areas/{code}/sensitive"
            try await check(.get, sensitive, "/v1/areas/P-01/sensitive", token: tokens.coordinator, expecting: .ok)
            try await check(.get, sensitive, "/v1/areas/P-01/sensitive", token: tokens.office, expecting: .notFound)
            try await check(
                .get, sensitive, "/v1/areas/P-01/sensitive?x=1", token: tokens.coordinator, expecting: .badRequest)
            let redacted = "/v1/complaints/{id}/redacted"
            try await check(.get, redacted, "/v1/complaints/\(id)/redacted", token: tokens.office, expecting: .ok)
            try await check(
                .get, redacted, "/v1/complaints/\(id)/redacted", token: tokens.otherOffice, expecting: .notFound)
            try await check(
                .get, "/v1/appeals/{id}/redacted", "/v1/appeals/\(created["appeals"] ?? "")/redacted", token: admin,
                expecting: .ok)
            try await check(
                .get, "/v1/referrals/{id}/redacted", "/v1/referrals/R-2345-678/redacted", token: admin,
                expecting: .notFound)

            // The event log: auditors and admins read it as NDJSON; other roles are refused.
            let auditEvents = "/v1/audit/events"
            let auditLog = try await check(
                .get, auditEvents, "/v1/audit/events?after=0&limit=5", token: tokens.auditor, expecting: .ok)
            #expect(auditLog.headers[.contentType] == "application/x-ndjson")
            let cloudEvents = try await check(
                .get, auditEvents, "/v1/audit/events?format=cloudevents", token: admin, expecting: .ok)
            #expect(cloudEvents.headers[.contentType] == "application/x-ndjson")
            try await check(.get, auditEvents, "/v1/audit/events", token: tokens.office, expecting: .forbidden)
            let negative = try await check(
                .get, auditEvents, "/v1/audit/events?after=-1", token: tokens.auditor, expecting: .badRequest)
            #expect(negative["field"] == "after")
            try await check(
                .get, auditEvents, "/v1/audit/events?format=xml", token: tokens.auditor, expecting: .badRequest)
            try await check(.get, auditEvents, "/v1/audit/events", token: nil, expecting: .unauthorized)
            let auditStream = "/v1/audit/streams/{id}"
            let stream = try await check(
                .get, auditStream, "/v1/audit/streams/\(id)", token: tokens.auditor, expecting: .ok)
            #expect(stream.headers[.contentType] == "application/x-ndjson")
            try await check(
                .get, auditStream, "/v1/audit/streams/C-2345-678", token: tokens.auditor, expecting: .notFound)
            try await check(
                .get, auditStream, "/v1/audit/streams/\(id)", token: tokens.programme, expecting: .forbidden)
            try await check(
                .get, auditStream, "/v1/audit/streams/\(id)?limit=5", token: tokens.auditor, expecting: .badRequest)

            // Data subjects, for admins.
            let subject = "/v1/subjects/{id}"
            try await check(.get, subject, "/v1/subjects/\(id)", token: admin, expecting: .ok)
            try await check(.get, subject, "/v1/subjects/\(id)", token: tokens.auditor, expecting: .forbidden)
            try await check(.get, subject, "/v1/subjects/C-2345-678", token: admin, expecting: .notFound)
            try await check(.get, subject, "/v1/subjects/a%20b", token: admin, expecting: .badRequest)
            let hold = "/v1/subjects/{id}/legal-hold"
            let reason = #"{"reason":"Audit 3"}"#
            try await check(
                .post, hold, "/v1/subjects/\(id)/legal-hold", token: admin, body: #"{"reason":" "}"#,
                expecting: .unprocessableContent)
            try await check(.post, hold, "/v1/subjects/\(id)/legal-hold", token: admin, body: reason, expecting: .ok)
            try await check(
                .post, hold, "/v1/subjects/\(id)/legal-hold", token: admin, body: reason, expecting: .conflict)
            let erasure = "/v1/subjects/{id}/erasure"
            let erase = #"{"reason":"Request 1","legal_basis":"DPA s.16"}"#
            try await check(
                .post, erasure, "/v1/subjects/\(id)/erasure", token: admin, body: erase, expecting: .conflict)
            try await check(
                .post, erasure, "/v1/subjects/\(id)/erasure", token: admin, body: "{}", expecting: .badRequest)
            let release = "/v1/subjects/{id}/legal-hold/release"
            try await check(
                .post, release, "/v1/subjects/\(id)/legal-hold/release", token: admin, body: reason, expecting: .ok)
            try await check(.post, erasure, "/v1/subjects/\(id)/erasure", token: admin, body: erase, expecting: .ok)

            // Four lookups are allowed per minute here; the fifth is refused.
            let track = "/v1/track/{code}"
            var random = SeededRandom(seed: 7)
            let unknown = TrackingCode.generate(kind: .complaint, using: &random).text
            let mistyped = String(id.dropLast()) + (id.hasSuffix("2") ? "3" : "2")
            try await check(.get, track, "/v1/track/\(id)", token: nil, expecting: .ok)
            try await check(.get, track, "/v1/track/\(unknown)", token: nil, expecting: .notFound)
            try await check(.get, track, "/v1/track/\(mistyped)", token: nil, expecting: .badRequest)
            try await check(.get, track, "/v1/track/hello", token: nil, expecting: .badRequest)
            let limited = try await check(.get, track, "/v1/track/\(id)", token: nil, expecting: .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "60")
        }
    }
}

/// The paths of an OpenAPI document and the statuses each operation lists, read with a line-based scan of the
/// layout `docs/openapi.yaml` keeps (no YAML parser): under `paths:`, a path is a line of two spaces and `/`, a
/// method a line of four spaces, and a status a line of eight spaces and a quoted three-digit code.
struct DocumentedAPI {
    /// Path, then method (`get`, `post`), then the statuses listed.
    var operations: [String: [String: Set<Int>]] = [:]

    init(yaml: String) {
        var inPaths = false
        var path: String?
        var method: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let first = line.first, first != " ", first != "#" {
                inPaths = line == "paths:"
                (path, method) = (nil, nil)
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
                method = nil
                if let path { self.operations[path] = [:] }
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"),
                Self.methods.contains(String(line.dropFirst(4).dropLast()))
            {
                method = String(line.dropFirst(4).dropLast())
                if let method { self.operations[path]?[method] = [] }
            } else if let path, let method, let status = Self.status(line) {
                self.operations[path]?[method]?.insert(status)
            }
        }
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The status of a line `        '201':`, else nil.
    static func status(_ line: String) -> Int? {
        guard line.count == 14, line.hasPrefix("        '"), line.hasSuffix("':") else { return nil }
        let digits = line.dropFirst(9).prefix(3)
        guard digits.allSatisfy(\.isNumber), let code = Int(digits), (100...599).contains(code) else { return nil }
        return code
    }

    /// The statuses listed for `method` on `path`; empty when the operation is not documented.
    func statuses(_ path: String, _ method: String) -> Set<Int> {
        self.operations[path]?[method] ?? []
    }
}
