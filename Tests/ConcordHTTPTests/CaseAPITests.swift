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

@Suite struct ComplaintAPITests {
    @Test func aComplaintLivesFromLodgedToClosedOverHTTP() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            // An assignment's officer is a user of the programme.
            try await Users.create(settings, login: "officer-7", role: .programme, scope: "CCT")
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            #expect(lodged.status == .created)
            let id = try #require(lodged["id"]?.stringValue)
            #expect(lodged.headers[.location] == "/v1/complaints/\(id)")
            #expect(lodged.headers[.eTag] == "\"1\"")
            #expect(lodged["complaint"]?["status"] == "lodged")
            #expect(TrackingCode.parse(id).map(\.kind) == .success(.complaint))
            // Each reader is offered what it may send: the office withdraws, the programme acknowledges.
            #expect(lodged["complaint"]?["your_commands"]?.stringArray?.contains("withdraw") == true)
            #expect(lodged["complaint"]?["your_commands"]?.stringArray?.contains("acknowledge") == false)
            let programmeView = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.programme)
            #expect(programmeView["complaint"]?["your_commands"]?.stringArray?.contains("acknowledge") == true)
            #expect(programmeView["complaint"]?["your_commands"]?.stringArray?.contains("withdraw") == false)
            let audited = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.auditor)
            #expect(audited["complaint"]?["your_commands"]?.stringArray == [])

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
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
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
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
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
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.otherOffice).status == .notFound)
            #expect(
                try await client.send(.get, "/v1/complaints/\(id)", token: tokens.otherProgramme).status == .notFound)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.programme).status == .ok)
            let foreign = try await client.send(
                .post, "/v1/complaints", token: tokens.otherOffice, body: Body.complaint)
            #expect(foreign.status == .unprocessableContent)
            #expect(
                try await client.send(.post, "/v1/complaints", token: tokens.auditor, body: Body.complaint).status
                    == .unprocessableContent)
        }
    }

    @Test func retriesWithAnIdempotencyKeyTakeEffectOnce() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            var key = HTTPFields()
            key.append(HTTPField(name: try #require(HTTPField.Name("Idempotency-Key")), value: "lodge-1"))
            async let first = client.send(
                .post, "/v1/complaints", token: tokens.office, body: Body.complaint, headers: key)
            async let second = client.send(
                .post, "/v1/complaints", token: tokens.office, body: Body.complaint, headers: key)
            let answers = try await [first, second]
            #expect(answers.map(\.status) == [.created, .created])
            #expect(answers[0]["id"] == answers[1]["id"])
            #expect(answers[0].json == answers[1].json)
            let third = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Body.complaint, headers: key)
            #expect(third.json == answers[0].json)
            let changed = try await client.send(
                .post, "/v1/complaints", token: tokens.office,
                body: Body.complaint.replacingOccurrences(of: "March", with: "April"),
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
        // A clock that stands still: the five lookups fall in one window however slowly the machine runs.
        let clock = ManualClock(Timestamp(microsecondsSinceEpoch: 1_789_466_400_000_000))
        try await withApplication(settings: settings, trackingLimit: 5, configure: { $0.clock = clock.wallClock }) {
            client in
            var random = SeededRandom(seed: 1)
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
