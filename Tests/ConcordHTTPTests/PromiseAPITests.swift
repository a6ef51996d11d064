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

/// Promises of docs/api.md and docs/audit.md held over real HTTP against the real application.
@Suite(.timeLimit(.minutes(2))) struct IdempotencyKeyAPITests {
    /// The first answer to a key may carry personal data: another token, or another path, never gets it back.
    @Test func aKeyReplayedByAnotherTokenOrOnAnotherPathNeverReturnsTheFirstAnswer() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let sameOffice = try await Tokens.create(settings, role: .office, scope: "OFF-001", label: "second clerk")
        try await withApplication(settings: settings) { client in
            let key = HTTPFields.idempotencyKey("lodge-0001")
            let first = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Body.complaint, headers: key)
            #expect(first.status == .created, "\(first.text)")
            let id = try #require(first["id"]?.stringValue)
            #expect(first["complainant"]?["name"] == "Amina Diallo")

            // The same key, body and path from other tokens (one of the same office), and the same key and token on
            // other paths: refused as a reused key, and the first answer is not in the refusal.
            var replays: [(String, Answer)] = []
            for token in [sameOffice, tokens.admin] {
                replays.append(
                    (
                        "another token",
                        try await client.send(.post, "/v1/complaints", token: token, body: Body.complaint, headers: key)
                    ))
            }
            replays.append(
                (
                    "another path",
                    try await client.send(
                        .post, "/v1/complaints/\(id)/add_note", token: tokens.office, body: #"{"text":"x"}"#,
                        headers: key)
                ))
            replays.append(
                (
                    "another collection",
                    try await client.send(
                        .post, "/v1/appeals", token: tokens.office, body: Body.appeal, headers: key)
                ))
            for (what, answer) in replays {
                #expect(answer.status == .unprocessableContent, "\(what): \(answer.text)")
                #expect(answer["field"] == "Idempotency-Key", "\(what): \(answer.text)")
                #expect(!answer.text.contains("Amina") && !answer.text.contains(id), "\(what) leaks: \(answer.text)")
            }
            // The same token, path and body still gets the first answer.
            let retry = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Body.complaint, headers: key)
            #expect(retry.status == .created && retry.json == first.json, "\(retry.text)")
            let shown = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            #expect(shown["version"] == 1, "nothing was written by the replays: \(shown.text)")
            let cases = try await withStore(settings: settings) { store in
                try await store.readAll(after: 0, limit: 10_000).filter { $0.stream.type != "reference" }.count
            }
            #expect(cases == 1)
        }
    }

    @Test func aMalformedKeyIs400AndWritesNothing() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            for key in ["", String(repeating: "k", count: 201)] {
                let answer = try await client.send(
                    .post, "/v1/complaints", token: tokens.office, body: Body.complaint,
                    headers: .idempotencyKey(key))
                #expect(answer.status == .badRequest, "\(key.count) characters: \(answer.text)")
                #expect(answer["field"] == "Idempotency-Key", "\(answer.text)")
            }
            // 200 characters is still a key.
            let longest = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Body.complaint,
                headers: .idempotencyKey(String(repeating: "k", count: 200)))
            #expect(longest.status == .created, "\(longest.text)")
            let cases = try await withStore(settings: settings) { store in
                try await store.readAll(after: 0, limit: 10_000).filter { $0.stream.type == "complaint" }.count
            }
            #expect(cases == 1)
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct IfMatchAPITests {
    /// `If-Match` takes `"3"`, `3` and `W/"3"`; an older version is 412 and anything else 400, with nothing written.
    @Test func ifMatchTakesTheThreeDocumentedFormsAndRefusesTheRest() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let path = "/v1/complaints/\(id)"
            for (command, body, ifMatch, etag) in [
                ("acknowledge", "{}", #""1""#, #""2""#), ("assign", #"{"programme":"CCT"}"#, "2", #""3""#),
                ("add_note", #"{"text":"Checked."}"#, #"W/"3""#, #""4""#),
            ] {
                let answer = try await client.send(
                    .post, "\(path)/\(command)", token: tokens.programme, body: body, headers: [.ifMatch: ifMatch])
                #expect(answer.status == .ok, "If-Match \(ifMatch): \(answer.text)")
                #expect(answer.headers[.eTag] == etag, "If-Match \(ifMatch)")
            }
            for stale in [#""3""#, "1", #"W/"2""#] {
                let answer = try await client.send(
                    .post, "\(path)/add_note", token: tokens.programme, body: #"{"text":"late"}"#,
                    headers: [.ifMatch: stale])
                #expect(answer.status == .preconditionFailed, "If-Match \(stale): \(answer.text)")
                #expect(answer["field"] == "If-Match")
            }
            for malformed in ["abc", #""three""#, #""""#, "**", "4.0"] {
                let answer = try await client.send(
                    .post, "\(path)/add_note", token: tokens.programme, body: #"{"text":"x"}"#,
                    headers: [.ifMatch: malformed])
                #expect(answer.status == .badRequest, "If-Match \(malformed): \(answer.text)")
                #expect(answer["field"] == "If-Match", "If-Match \(malformed): \(answer.text)")
            }
            let shown = try await client.send(.get, path, token: tokens.programme)
            #expect(shown["version"] == 4, "\(shown.text)")
        }
    }
}

// Five minutes: three requests on each of the router's hundred-odd routes, alongside the whole suite on 2 cores.
@Suite(.timeLimit(.minutes(5))) struct RevokedTokenAPITests {
    /// "401: an unknown, malformed or revoked token on any route": every route of the router, with each of its
    /// methods, including the ones that need no token.
    @Test func aRevokedTokenIs401OnEveryRoute() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let revoked = try await Tokens.create(settings, role: .admin, scope: nil, label: "to revoke")
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: revoked, body: Body.complaint)
            #expect(lodged.status == .created, "the token works before it is revoked: \(lodged.text)")
            let id = try #require(lodged["id"]?.stringValue)
            try await Tokens.revoke(settings, secret: revoked)
            let routes = try applicationRoutes()
            #expect(routes.count > 20)
            for (method, template) in routes {
                let uri = template.replacingOccurrences(of: "{id}", with: id)
                    .replacingOccurrences(of: "{code}", with: template.contains("track") ? id : "CCT")
                    .replacingOccurrences(of: "{command}", with: "add_note")
                let body = method == .post ? #"{"text":"x"}"# : nil
                for token in [revoked, "concord_" + String(repeating: "A", count: 43), "not-a-token"] {
                    let answer = try await client.send(method, uri, token: token, body: body)
                    #expect(answer.status == .unauthorized, "\(method) \(uri): \(answer.status) \(answer.text)")
                    #expect(!answer.text.contains("Amina"), "\(method) \(uri)")
                }
            }
            // Still sound for the tokens that were not revoked.
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.auditor).status == .ok)
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct SubjectPromiseAPITests {
    /// The server sets the subject: a body that sends `subject` inside a personal object is refused (400, unknown
    /// field), for each kind of case.
    @Test func aBodyThatSendsTheSubjectIsRefused() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            for (path, token, body, member) in [
                (
                    "/v1/complaints", tokens.office,
                    Body.complaint.replacingOccurrences(
                        of: #""name":"Amina Diallo""#, with: #""name":"Amina Diallo","subject":"C-UR5G-63S""#),
                    "complainant.subject"
                ),
                (
                    "/v1/appeals", tokens.office,
                    Body.appeal.replacingOccurrences(
                        of: #""name":"Amina Diallo""#, with: #""name":"Amina Diallo","subject":"C-UR5G-63S""#),
                    "appellant.subject"
                ),
                (
                    "/v1/referrals", tokens.programme,
                    Body.referral.replacingOccurrences(
                        of: #""reference":"HH-42""#, with: #""reference":"HH-42","subject":"R-35KU-QJP""#),
                    "person.subject"
                ),
            ] {
                #expect(body.contains("\"subject\""))
                let answer = try await client.send(.post, path, token: token, body: body)
                #expect(answer.status == .badRequest, "\(path): \(answer.text)")
                #expect(answer["errors"]?.fields == [member], "\(path): \(answer.text)")
            }
            let stored = try await withStore(settings: settings) { store in
                try await store.readAll(after: 0, limit: 10_000).filter { $0.stream.type != "reference" }.count
            }
            #expect(stored == 0)
        }
    }

    /// A redirected referral carries the person under the original referral's subject, so one erasure of that
    /// subject reaches both referrals.
    @Test func aRedirectedReferralKeepsTheOriginalsSubjectAndOneErasureReachesBoth() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let created = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            let id = try #require(created["id"]?.stringValue)
            #expect(created["person"]?["subject"] == .string(id), "\(created.text)")
            for (token, command, body) in [
                (tokens.receiver, "acknowledge", "{}"), (tokens.receiver, "decline", #"{"reason":"lack_of_capacity"}"#),
                (tokens.programme, "redirect", #"{"new_receiver":"NUTRITION"}"#),
            ] {
                let answer = try await client.send(.post, "/v1/referrals/\(id)/\(command)", token: token, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.text)")
            }
            let shown = try await client.send(.get, "/v1/referrals/\(id)", token: tokens.programme)
            let newID = try #require(shown["referral"]?["redirected_to"]?.stringValue, "\(shown.text)")
            let successor = try await client.send(.get, "/v1/referrals/\(newID)", token: tokens.programme)
            #expect(successor.status == .ok, "\(successor.text)")
            #expect(successor["person"]?["subject"] == .string(id), "\(successor.text)")
            #expect(successor["person"]?["reference"] == "HH-42")
            // No subject of the new referral's own: one subject, one key.
            let subject = try await client.send(.get, "/v1/subjects/\(newID)", token: tokens.admin)
            #expect(subject.status == .notFound, "\(subject.text)")

            let erased = try await client.send(
                .post, "/v1/subjects/\(id)/erasure", token: tokens.admin,
                body: #"{"reason":"Request 12","legal_basis":"DPA s.16"}"#)
            #expect(erased.status == .ok && erased["key"] == "destroyed", "\(erased.text)")
            let form: JSONValue = ["subject": .string(id), "erased": true]
            for referral in [id, newID] {
                let view = try await client.send(.get, "/v1/referrals/\(referral)", token: tokens.programme)
                #expect(view.status == .ok, "\(view.text)")
                #expect(view["person"] == form, "\(referral): \(view.text)")
            }
        }
    }

    /// An erasure that stopped between its event and the key's destruction: asking again finishes it (200, nothing
    /// appended).
    @Test func aHalfDoneErasureIsFinishedByAskingAgain() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            // The erasure's event, without the key's destruction: a process that stopped between the two steps.
            try await appendErasureOnly(settings, subject: id)
            let head = try await logHead(settings)
            let before = try await client.send(.get, "/v1/subjects/\(id)", token: tokens.admin)
            #expect(before["status"] == "erased" && before["key"] == "live", "\(before.text)")

            let again = try await client.send(
                .post, "/v1/subjects/\(id)/erasure", token: tokens.admin,
                body: #"{"reason":"Request 7","legal_basis":"DPA s.16"}"#)
            #expect(again.status == .ok, "\(again.text)")
            #expect(again["status"] == "erased" && again["key"] == "destroyed", "\(again.text)")
            #expect(try await logHead(settings) == head, "asking again appends nothing")
            let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            #expect(view["complainant"] == ["subject": .string(id), "erased": true], "\(view.text)")
        }
    }

    /// The operators' opener printed in docs/audit.md opens a sealed object the running service stored, with the
    /// master key and the subject's wrapped key, and no Concord code.
    @Test func theDocumentedPythonOpenerOpensWhatTheServiceSealed() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            #expect(lodged.status == .created)
            let id = try #require(lodged["id"]?.stringValue)
            let (sealed, wrapped) = try await PostgresClient.withRunning(
                settings.owner, logger: TestDatabases.logger
            ) { owner in
                let rows = try await owner.query(
                    """
                    SELECT convert_from(e.canonical, 'UTF8'), encode(k.wrapped_key, 'hex') FROM events e
                    JOIN subject_keys k ON k.subject = e.stream_id
                    WHERE e.stream_id = \(id) AND e.event_type = 'ComplaintLodged'
                    """, logger: TestDatabases.logger)
                for try await (canonical, key) in rows.decode((String, String).self) { return (canonical, key) }
                throw NoRow()
            }
            let personal = try #require(try JSONParser.parse(Array(sealed.utf8))["payload"]?["complainant"])
            #expect(PersonalData.form(of: personal) != .clear, "stored sealed: \(personal)")
            let script = try DocumentedPython.block(in: "docs/audit.md", after: "def open_sealed(")
            let program =
                script + """

                    import sys
                    personal = json.loads(sys.argv[1])
                    opened = open_sealed(personal, bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]))
                    print(json.dumps(opened, sort_keys=True, separators=(",", ":")))
                    """
            let result = try await DocumentedPython.run(
                program,
                arguments: [
                    String(decoding: CanonicalJSON.encode(personal), as: UTF8.self), wrapped,
                    TestDatabases.masterKeyText,
                ])
            #expect(result.status == 0, "\(result.output)")
            let opened = try JSONParser.parse(Array(result.output.utf8))
            #expect(
                opened == ["name": "Amina Diallo", "phone": "+221770000000", "subject": .string(id)],
                "\(result.output)")
        }
    }

    struct NoRow: Error {}
}

@Suite(.timeLimit(.minutes(2))) struct CoordinatorAPITests {
    /// Coordinators never see sensitive complaints (by id or in a list), their lists go by the complaint's current
    /// area after an escalation, and they may add notes.
    @Test func coordinatorsSeeNoSensitiveComplaintAndTheirListsFollowTheCurrentArea() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let district = try await Tokens.create(settings, role: .coordinator, scope: "D-01")
        let province = tokens.coordinator
        try await withApplication(settings: settings) { client in
            let plain = try #require(
                try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)["id"]?
                    .stringValue)
            let sensitiveBody = Body.complaint.replacingOccurrences(
                of: #""category":"payment_delay""#, with: #""category":"staff_conduct""#)
            let sensitive = try #require(
                try await client.send(.post, "/v1/complaints", token: tokens.office, body: sensitiveBody)["id"]?
                    .stringValue)
            // An admin escalates the sensitive complaint to the province: it still stays out of the coordinators'.
            let up = try await client.send(
                .post, "/v1/complaints/\(sensitive)/escalate", token: tokens.admin,
                body: #"{"to_area":"P-01","reason":"Serious."}"#)
            #expect(up.status == .ok, "\(up.text)")
            for token in [district, province] {
                let view = try await client.send(.get, "/v1/complaints/\(sensitive)", token: token)
                #expect(view.status == .notFound, "\(view.text)")
                let note = try await client.send(
                    .post, "/v1/complaints/\(sensitive)/add_note", token: token, body: #"{"text":"x"}"#)
                #expect(note.status == .notFound, "\(note.text)")
            }

            // The district coordinator adds a note and escalates the plain complaint one level up.
            let noted = try await client.send(
                .post, "/v1/complaints/\(plain)/add_note", token: district, body: #"{"text":"Called the office."}"#)
            #expect(noted.status == .ok, "\(noted.text)")
            try await waitForProjections(settings)
            #expect(try await Self.ids(client, "/v1/loops", district) == [plain])
            #expect(try await Self.ids(client, "/v1/loops", province) == [plain])
            #expect(try await Self.ids(client, "/v1/areas/P-01/escalations", province).isEmpty)
            let escalated = try await client.send(
                .post, "/v1/complaints/\(plain)/escalate", token: district,
                body: #"{"to_area":"P-01","reason":"Needs the province."}"#)
            #expect(escalated.status == .ok, "\(escalated.text)")
            try await waitForProjections(settings)

            // It left the district's lists and entered the province's, and the district can no longer read it by its
            // id either: single reads and lists follow one access policy.
            #expect(try await Self.ids(client, "/v1/loops", district).isEmpty)
            #expect(try await Self.ids(client, "/v1/areas/D-01/escalations", district).isEmpty)
            #expect(try await Self.ids(client, "/v1/loops", province) == [plain])
            #expect(try await Self.ids(client, "/v1/areas/P-01/escalations", province) == [plain])
            #expect(try await client.send(.get, "/v1/complaints/\(plain)", token: district).status == .notFound)
            #expect(try await client.send(.get, "/v1/complaints/\(plain)", token: province).status == .ok)
            // An auditor sees both, sensitive included: the lists above left it out for the coordinators only.
            #expect(try await Self.ids(client, "/v1/loops", tokens.auditor) == [plain, sensitive].sorted())
        }
    }

    /// The ids of a list, sorted; a failed request is a test failure, never an empty list.
    static func ids(_ client: some TestClientProtocol, _ uri: String, _ token: String) async throws -> [String] {
        let answer = try await client.send(.get, uri, token: token)
        #expect(answer.status == .ok, "\(uri): \(answer.text)")
        let key = uri.hasSuffix("escalations") ? "escalations" : "loops"
        guard case .array(let items)? = answer[key] else {
            Issue.record("\(uri) has no \(key): \(answer.text)")
            return []
        }
        return items.compactMap { $0["id"]?.stringValue }.sorted()
    }
}

@Suite(.timeLimit(.minutes(2))) struct RequestLogTests {
    /// The request log names the path without its query: a query may carry personal data or a code.
    @Test func theRequestLogNeverCarriesAQueryString() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let captured = CapturedLog()
        let marker = "QUERYSECRET"
        try await withApplication(settings: settings, logger: captured.logger) { client in
            for (uri, token) in [
                ("/v1/loops?area=\(marker)", tokens.auditor),
                ("/v1/audit/events?after=0&limit=5&x=\(marker)", tokens.auditor),
                ("/v1/track/C-UR5G-63S?phone=\(marker)", nil), ("/healthz?name=\(marker)", nil),
                ("/v1/programmes/CCT/queue?limit=5&q=\(marker)", tokens.programme),
                ("/v1/complaints?\(marker)=1", tokens.office),
            ] {
                let method: HTTPRequest.Method = uri.hasPrefix("/v1/complaints") ? .post : .get
                _ = try await client.send(method, uri, token: token, body: method == .post ? Body.complaint : nil)
            }
        }
        let lines = captured.lines.withLock { $0 }
        // The requests were logged, by path.
        for path in ["/v1/loops", "/v1/audit/events", "/v1/track/C-UR5G-63S", "/healthz", "/v1/complaints"] {
            #expect(lines.contains { $0.contains(" \(path) ") }, "no log line for \(path)")
        }
        let leaks = lines.filter { $0.contains(marker) }
        #expect(leaks.isEmpty, "\(leaks.prefix(3))")
        let requestLines = lines.filter { $0.hasPrefix("info GET /") || $0.hasPrefix("info POST /") }
        #expect(requestLines.count >= 6, "\(requestLines)")
        #expect(requestLines.allSatisfy { !$0.contains("?") }, "\(requestLines.filter { $0.contains("?") })")
    }
}
