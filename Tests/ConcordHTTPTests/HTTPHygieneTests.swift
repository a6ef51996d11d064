import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// What every HTTP answer owes its caller, whatever the route: the right status for a wrong method, HEAD beside
/// GET, JSON bodies only, strict dates, and headers that keep personal data out of caches and browsers' guesses.
@Suite(.timeLimit(.minutes(2))) struct HTTPHygieneTests {
    @Test func aKnownPathWithAnotherMethodIs405WithAllow() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.delete, "/v1/complaints/\(id)", "GET, HEAD"),
                (.put, "/v1/complaints/\(id)", "GET, HEAD"),
                (.get, "/v1/complaints", "POST"),
                (.get, "/v1/complaints/\(id)/acknowledge", "POST"),
                (.patch, "/v1/loops", "GET, HEAD"),
                (.post, "/healthz", "GET, HEAD"),
                (.delete, "/v1/subjects/\(id)/legal-hold", "POST"),
                (.options, "/metrics", "GET, HEAD"),
            ]
            for (method, uri, allow) in cases {
                let answer = try await client.send(method, uri, token: tokens.office)
                #expect(answer.status == .methodNotAllowed, "\(method) \(uri): \(answer.json)")
                #expect(answer.headers[.allow] == allow, "\(method) \(uri)")
                #expect(answer.headers[.contentType] == "application/problem+json", "\(method) \(uri)")
                #expect(answer["status"] == 405)
            }
            // Nothing was changed by them, and an unknown path is still 404.
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)["version"] == 1)
            #expect(try await client.send(.delete, "/v1/nothing", token: tokens.office).status == .notFound)
        }
    }

    @Test func headAnswersWhereverGetDoesWithoutABody() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let gets: [(String, String?)] = [
                ("/healthz", nil), ("/readyz", nil), ("/metrics", nil), ("/openapi.yaml", nil),
                ("/v1/complaints/\(id)", tokens.office), ("/v1/track/\(id)", nil), ("/v1/loops", tokens.auditor),
                ("/v1/indicators", tokens.auditor), ("/v1/audit/streams/\(id)", tokens.auditor),
                ("/v1/programmes/CCT/queue", tokens.programme),
            ]
            // Readiness answers 503 while a probe of the database outlasts its 2 s (the whole suite on 2 cores).
            try await poll(within: .seconds(60), "ready") {
                try await client.send(.get, "/readyz", token: nil).status == .ok
            }
            for (uri, token) in gets {
                let get = try await client.send(.get, uri, token: token)
                let head = try await client.send(.head, uri, token: token)
                #expect(get.status == .ok, "GET \(uri): \(get.json)")
                #expect(head.status == .ok, "HEAD \(uri)")
                #expect(head.json == .null, "HEAD \(uri) sent a body")
                #expect(head.headers[.contentType] == get.headers[.contentType], "HEAD \(uri)")
            }
            let head = try await client.send(.head, "/v1/complaints/\(id)", token: tokens.office)
            #expect(head.headers[.eTag] == "\"1\"")
            // Access rules hold for HEAD as for GET.
            #expect(try await client.send(.head, "/v1/complaints/\(id)", token: nil).status == .unauthorized)
            let other = try await client.send(.head, "/v1/complaints/\(id)", token: tokens.otherOffice)
            #expect(other.status == .notFound)
        }
    }

    @Test func aBodyMustBeJSONByItsContentType() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let refused = ["text/plain", "application/jsonp", "application/json; charset=latin1", "json", "+json"]
            for type in refused {
                let answer = try await client.send(
                    .post, "/v1/complaints", token: tokens.office, body: Body.complaint, headers: [.contentType: type])
                #expect(answer.status == .unsupportedMediaType, "\(type): \(answer.json)")
                #expect(answer.headers[.contentType] == "application/problem+json")
                #expect(answer["field"] == "Content-Type", "\(type)")
            }
            // No Content-Type at all: 415, not a guess.
            let bare = try await client.execute(
                uri: "/v1/complaints", method: .post, headers: [.authorization: "Bearer \(tokens.office)"],
                body: ByteBuffer(string: Body.complaint)
            ) { response in response.status }
            #expect(bare == .unsupportedMediaType)

            let accepted = [
                "application/json", "Application/JSON", "application/json; charset=utf-8",
                "application/json;charset=\"UTF-8\"", "application/merge-patch+json; charset=utf-8",
                "application/vnd.concord+json",
            ]
            for type in accepted {
                let answer = try await client.send(
                    .post, "/v1/complaints", token: tokens.office, body: Body.complaint, headers: [.contentType: type])
                #expect(answer.status == .created, "\(type): \(answer.json)")
            }
        }
    }

    @Test func dateAndTimeParametersAreStrictRFC3339() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let refused: [(String, String)] = [
                ("from=2026-02-30", "from"),
                ("to=2026-01-01T25:00:00Z", "to"),
                ("from=2026-01-01T00:00:00%2B25:00", "from"),
                ("from=2026-01-01T00:00:00", "from"),
                ("to=2026-13-01", "to"),
                ("from=2026-01-01T09:60:00Z", "from"),
                ("from=2026-1-1", "from"),
                ("from=2026-01-01%2009:00:00Z", "from"),
                ("from=yesterday", "from"),
            ]
            for (query, field) in refused {
                let answer = try await client.send(.get, "/v1/indicators?\(query)", token: tokens.auditor)
                #expect(answer.status == .badRequest, "\(query): \(answer.json)")
                #expect(answer.headers[.contentType] == "application/problem+json")
                #expect(answer["field"]?.stringValue == field, "\(query)")
            }
            let day = try await client.send(.get, "/v1/indicators?from=2026-02-30", token: tokens.auditor)
            #expect(day["detail"]?.stringValue?.contains("day 30 does not exist in 2026-02") == true, "\(day.json)")
            let zone = try await client.send(.get, "/v1/indicators?from=2026-01-01T00:00:00", token: tokens.auditor)
            #expect(zone["detail"]?.stringValue?.contains("time zone") == true, "\(zone.json)")

            let accepted = [
                "from=2026-01-01&to=2027-01-01", "from=2026-01-01T00:00:00Z&to=2026-12-31T23:59:59.999999Z",
                "from=2026-01-01T03:00:00%2B03:00", "from=2024-02-29t10:00:00.5-01:30", "from=2026-01-01T00:00:00z",
            ]
            for query in accepted {
                let answer = try await client.send(.get, "/v1/indicators?\(query)", token: tokens.auditor)
                #expect(answer.status == .ok, "\(query): \(answer.json)")
            }
            // The offset is applied: 03:00 at +03:00 is midnight UTC.
            let shifted = try await client.send(
                .get, "/v1/indicators?from=2026-01-01T03:00:00%2B03:00", token: tokens.auditor)
            #expect(shifted["from"] == "2026-01-01T00:00:00.000000Z")
        }
    }

    @Test func everyAnswerForbidsCachingAndSniffing() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let answers = [
                lodged,
                try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office),
                try await client.send(.get, "/v1/complaints/\(id)", token: nil),
                try await client.send(.get, "/v1/track/\(id)", token: nil),
                try await client.send(.get, "/v1/offices/OFF-001/cases", token: tokens.office),
                try await client.send(.get, "/v1/audit/events", token: tokens.auditor),
                try await client.send(.get, "/v1/nowhere", token: nil),
                try await client.send(.delete, "/v1/loops", token: tokens.auditor),
                try await client.send(.get, "/healthz", token: nil),
                try await client.send(.get, "/metrics", token: nil),
                try await client.send(.head, "/v1/complaints/\(id)", token: tokens.office),
            ]
            for answer in answers {
                #expect(answer.headers[.xContentTypeOptions] == "nosniff", "\(answer.status)")
                #expect(answer.headers[.cacheControl] == "no-store", "\(answer.status)")
            }
        }
    }

    /// A generated client sends each documented default: the server must accept every one of them.
    @Test func everyDocumentedDefaultIsAccepted() async throws {
        let defaults = try DocumentedDefaults(
            yaml: String(contentsOf: OpenAPIDocumentTests.documentURL, encoding: .utf8))
        #expect(defaults.byOperation["/v1/indicators"]?["group_by"] == "total", "the parser found the defaults")
        #expect(defaults.byOperation["/v1/audit/events"]?["limit"] == "1000")
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            for (template, parameters) in defaults.byOperation {
                let query = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                let uri = Self.path(template, id: id) + "?" + query.joined(separator: "&")
                let answer = try await client.send(.get, uri, token: tokens.admin)
                #expect(answer.status == .ok, "\(uri): \(answer.json)")
            }
        }
    }

    /// A documented path with its parameters filled in from the demo reference data and the case `id`.
    static func path(_ template: String, id: String) -> String {
        let code =
            template.hasPrefix("/v1/programmes/") ? "CCT" : template.hasPrefix("/v1/offices/") ? "OFF-001" : "D-01"
        return template.replacingOccurrences(of: "{code}", with: code).replacingOccurrences(of: "{id}", with: id)
    }
}

/// The `default:` of each query parameter of each GET operation in `docs/openapi.yaml`, shared parameters
/// (`$ref: '#/components/parameters/...'`) included. Reads the document's own layout, line by line.
struct DocumentedDefaults {
    /// Path, then parameter name, then its default as text.
    var byOperation: [String: [String: String]] = [:]

    init(yaml: String) throws {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let shared = Self.sharedDefaults(lines)
        var section = ""
        var (path, method, parameter): (String?, String?, String?) = (nil, nil, nil)
        for line in lines {
            if let first = line.first, first != " ", first != "#" { section = line }
            guard section == "paths:" else { continue }
            let indent = line.prefix { $0 == " " }.count
            if indent == 2, line.hasPrefix("  /"), line.hasSuffix(":") {
                (path, method, parameter) = (String(line.dropFirst(2).dropLast()), nil, nil)
            } else if indent == 4, line.hasSuffix(":") {
                (method, parameter) = (String(line.dropFirst(4).dropLast()), nil)
            } else if indent <= 6 {
                parameter = nil
            }
            guard let path, method == "get" else { continue }
            if let name = Self.value(line, "        - name: ") {
                parameter = name
            } else if let key = Self.value(line, "        - $ref: '#/components/parameters/") {
                for (name, value) in shared[key] ?? [:] { self.byOperation[path, default: [:]][name] = value }
            } else if let parameter, let value = Self.value(line, "            default: ") {
                self.byOperation[path, default: [:]][parameter] = value
            }
        }
    }

    /// `components.parameters`: key (`Limit`), then its name and default.
    static func sharedDefaults(_ lines: [String]) -> [String: [String: String]] {
        var shared: [String: [String: String]] = [:]
        var (inComponents, inParameters) = (false, false)
        var (key, name): (String?, String?) = (nil, nil)
        for line in lines {
            if let first = line.first, first != " ", first != "#" { inComponents = line == "components:" }
            guard inComponents else { continue }
            if line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") {
                inParameters = line == "  parameters:"
                continue
            }
            guard inParameters else { continue }
            if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                (key, name) = (String(line.dropFirst(4).dropLast()), nil)
            } else if let value = Self.value(line, "      name: ") {
                name = value
            } else if let key, let name, let value = Self.value(line, "        default: ") {
                shared[key, default: [:]][name] = value
            }
        }
        return shared
    }

    /// The rest of `line` after `prefix`, unquoted; nil when the line does not start so.
    static func value(_ line: String, _ prefix: String) -> String? {
        guard line.hasPrefix(prefix) else { return nil }
        return String(line.dropFirst(prefix.count)).trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
    }
}
