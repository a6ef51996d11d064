import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import PostgresNIO
import Testing

/// Tokens for one test database, created as the owner (the service role may only read them).
struct Tokens {
    var office: String
    var otherOffice: String
    var programme: String
    var otherProgramme: String
    /// A programme that receives referrals: HEALTH.
    var receiver: String
    var auditor: String
    /// A coordinator of province P-01.
    var coordinator: String
    var admin: String

    static func make(_ settings: DatabaseSettings) async throws -> Tokens {
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
}

struct Answer {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var json: JSONValue

    subscript(key: String) -> JSONValue? { self.json[key] }
}

extension TestClientProtocol {
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await self.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            let bytes = Array(buffer: response.body)
            return Answer(
                status: response.status, headers: response.headers,
                json: bytes.isEmpty
                    ? .null : ((try? JSONParser.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))))
        }
    }
}

let lodgeBody = """
    {"channel":"walk_in","programme":"CCT","category":"payment_delay","description":"The March payment is late.",
     "area":"D-01","office":"OFF-001","anonymous":false,"complainant":{"name":"Amina Diallo","phone":"+221770000000"},
     "contact_preference":"sms","sensitive":false}
    """

@Suite struct ComplaintAPITests {
    @Test func aComplaintLivesFromLodgedToClosedOverHTTP() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: lodgeBody)
            #expect(lodged.status == .created)
            let id = try #require(lodged["id"]?.stringValue)
            #expect(lodged.headers[.location] == "/v1/complaints/\(id)")
            #expect(lodged.headers[.eTag] == "\"1\"")
            #expect(lodged["complaint"]?["status"] == "lodged")
            #expect(TrackingCode.parse(id).map(\.kind) == .success(.complaint))

            for (token, command, body, status) in [
                (tokens.programme, "acknowledge", "{}", "acknowledged"),
                (tokens.programme, "assign", #"{"programme":"CCT","officer":"officer-7"}"#, "assigned"),
                (
                    tokens.programme, "resolve", #"{"outcome":"upheld","actions_taken":"Paid with arrears."}"#,
                    "resolved"
                ),
                (tokens.office, "notify_complainant", #"{"method":"sms"}"#, "complainant_notified"),
                (tokens.office, "close", #"{"satisfaction":"satisfied"}"#, "closed"),
            ] {
                let answer = try await client.send(.post, "/v1/complaints/\(id)/\(command)", token: token, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.json)")
                #expect(answer["complaint"]?["status"] == .string(status), "\(command)")
            }
            let shown = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.auditor)
            #expect(shown.status == .ok)
            #expect(shown["version"] == 6)
            #expect(shown["events"].map { if case .array(let events) = $0 { events.count } else { 0 } } == 6)

            let tracked = try await client.send(
                .get, "/v1/track/\(id.lowercased().replacingOccurrences(of: "-", with: ""))", token: nil)
            #expect(tracked.status == .ok)
            #expect(tracked["status"] == "closed")
            let text = String(decoding: CanonicalJSON.encode(tracked.json), as: UTF8.self)
            for secret in ["Amina", "+221", "March", "OFF-001", "CCT", "officer-7", "arrears"] {
                #expect(!text.contains(secret), "tracking leaks \(secret)")
            }
        }
    }

    @Test func aNotSatisfiedComplainantReopensWithinTheProgrammesAppealWindow() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: lodgeBody)
            let id = try #require(lodged["id"]?.stringValue)
            for (token, command, body) in [
                (tokens.programme, "acknowledge", "{}"), (tokens.programme, "assign", #"{"programme":"CCT"}"#),
                (tokens.programme, "resolve", #"{"outcome":"not_upheld","actions_taken":"Checked the records."}"#),
                (tokens.office, "notify_complainant", #"{"method":"sms"}"#),
                (tokens.office, "close", #"{"satisfaction":"not_satisfied"}"#),
            ] {
                let answer = try await client.send(.post, "/v1/complaints/\(id)/\(command)", token: token, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.json)")
            }
            // The client does not say whether the window is open: the programme's settings (CCT) do.
            let reopened = try await client.send(
                .post, "/v1/complaints/\(id)/reopen", token: tokens.office, body: #"{"reason":"Still not paid."}"#)
            #expect(reopened.status == .ok, "\(reopened.json)")
            #expect(reopened["complaint"]?["status"] == "assigned")
            #expect(reopened["complaint"]?["appeal_requested"] == true)
            // Reopening after a not-satisfied close opens an appeal against the complaint's outcome.
            let appealID = try #require(reopened["appeal_opened"]?.stringValue)
            let appeal = try await client.send(.get, "/v1/appeals/\(appealID)", token: tokens.office)
            #expect(appeal.status == .ok, "\(appeal.json)")
            #expect(appeal["appeal"]?["status"] == "lodged")
            #expect(appeal["appellant"]?["name"] == "Amina Diallo")
        }
    }

    @Test func refusalsAreProblemsAndChangeNothing() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: lodgeBody)
            let id = try #require(lodged["id"]?.stringValue)
            let cases: [(String, String?, String, HTTPFields, HTTPResponse.Status)] = [
                (
                    "/v1/complaints/\(id)/resolve", tokens.programme, #"{"outcome":"upheld","actions_taken":"x"}"#, [:],
                    .conflict
                ),
                ("/v1/complaints/\(id)/acknowledge", tokens.programme, "{not json", [:], .badRequest),
                ("/v1/complaints/\(id)/assign", tokens.programme, #"{"programme":7,"extra":1}"#, [:], .badRequest),
                ("/v1/complaints/\(id)/acknowledge", nil, "{}", [:], .unauthorized),
                ("/v1/complaints/\(id)/acknowledge", "concord_forged", "{}", [:], .unauthorized),
                ("/v1/complaints/\(id)/acknowledge", tokens.otherProgramme, "{}", [:], .notFound),
                ("/v1/complaints/\(id)/acknowledge", tokens.auditor, "{}", [:], .forbidden),
                ("/v1/complaints/\(id)/acknowledge", tokens.office, "{}", [:], .forbidden),
                ("/v1/complaints/\(id)/acknowledge", tokens.programme, "{}", [.ifMatch: "\"7\""], .preconditionFailed),
                (
                    "/v1/complaints/\(id)/acknowledge", tokens.programme, "{}", [.contentType: "text/plain"],
                    .unsupportedMediaType
                ),
                ("/v1/complaints/\(id)/fly", tokens.programme, "{}", [:], .notFound),
                ("/v1/complaints/\(id)/add_note", tokens.programme, #"{"text":"a\u0000b"}"#, [:], .badRequest),
                ("/v1/complaints/C-2345-678/acknowledge", tokens.programme, "{}", [:], .notFound),
                (
                    "/v1/complaints/\(id)/add_note", tokens.programme,
                    "{\"text\":\"" + String(repeating: "x", count: 70_000) + "\"}", [:], .contentTooLarge
                ),
            ]
            for (uri, token, body, headers, status) in cases {
                let answer = try await client.send(.post, uri, token: token, body: body, headers: headers)
                #expect(answer.status == status, "\(uri) \(body.prefix(40)): \(answer.json)")
                #expect(answer.headers[.contentType] == "application/problem+json", "\(uri)")
            }
            let conflict = try await client.send(
                .post, "/v1/complaints/\(id)/resolve", token: tokens.programme,
                body: #"{"outcome":"upheld","actions_taken":"x"}"#)
            #expect(conflict["current_state"] == "lodged")
            #expect(conflict["allowed_commands"]?.stringArray?.contains("acknowledge") == true)
            let invalid = try await client.send(
                .post, "/v1/complaints/\(id)/assign", token: tokens.programme, body: #"{"programme":7,"extra":1}"#)
            #expect(invalid["errors"]?.fields == ["programme", "extra"])
            let after = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            #expect(after["version"] == 1)
        }
    }

    @Test func scopeHidesOtherOfficesCasesAndRefusesLodgingForThem() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: lodgeBody)
            let id = try #require(lodged["id"]?.stringValue)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.otherOffice).status == .notFound)
            #expect(
                try await client.send(.get, "/v1/complaints/\(id)", token: tokens.otherProgramme).status == .notFound)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.programme).status == .ok)
            let foreign = try await client.send(.post, "/v1/complaints", token: tokens.otherOffice, body: lodgeBody)
            #expect(foreign.status == .unprocessableContent)
            #expect(
                try await client.send(.post, "/v1/complaints", token: tokens.auditor, body: lodgeBody).status
                    == .unprocessableContent)
        }
    }

    @Test func retriesWithAnIdempotencyKeyTakeEffectOnce() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            var key = HTTPFields()
            key.append(HTTPField(name: try #require(HTTPField.Name("Idempotency-Key")), value: "lodge-1"))
            async let first = client.send(.post, "/v1/complaints", token: tokens.office, body: lodgeBody, headers: key)
            async let second = client.send(.post, "/v1/complaints", token: tokens.office, body: lodgeBody, headers: key)
            let answers = try await [first, second]
            #expect(answers.map(\.status) == [.created, .created])
            #expect(answers[0]["id"] == answers[1]["id"])
            #expect(answers[0].json == answers[1].json)
            let third = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: lodgeBody, headers: key)
            #expect(third.json == answers[0].json)
            let changed = try await client.send(
                .post, "/v1/complaints", token: tokens.office,
                body: lodgeBody.replacingOccurrences(of: "March", with: "April"),
                headers: key)
            #expect(changed.status == .unprocessableContent)
            #expect(changed["field"] == "Idempotency-Key")
            let complaints = try await withStore(settings: settings) { store in
                try await store.readAll(after: 0, limit: 1_000).filter { $0.stream.type == "complaint" }.count
            }
            #expect(complaints == 1)
        }
    }

    @Test func trackingTellsAMistypedCodeFromAnUnknownOneAndIsRateLimited() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings, trackingLimit: 5) { client in
            var random = SplitMixForTests(state: 1)
            let unknown = TrackingCode.generate(kind: .complaint, using: &random).text
            #expect(try await client.send(.get, "/v1/track/\(unknown)", token: nil).status == .notFound)
            let last = unknown.last.map(String.init) ?? ""
            let replacement = last == "2" ? "3" : "2"
            let mistyped = String(unknown.dropLast()) + replacement
            let typo = try await client.send(.get, "/v1/track/\(mistyped)", token: nil)
            #expect(typo.status == .badRequest)
            #expect(typo["title"] == "Mistyped tracking code")
            #expect(try await client.send(.get, "/v1/track/hello", token: nil).status == .badRequest)
            for _ in 0..<2 { _ = try await client.send(.get, "/v1/track/\(unknown)", token: nil) }
            let limited = try await client.send(.get, "/v1/track/\(unknown)", token: nil)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "60")
        }
    }
}

struct SplitMixForTests: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension JSONValue {
    var stringArray: [String]? {
        guard case .array(let elements) = self else { return nil }
        return elements.compactMap(\.stringValue)
    }

    var fields: [String]? {
        guard case .array(let elements) = self else { return nil }
        return elements.compactMap { $0["field"]?.stringValue }
    }
}
