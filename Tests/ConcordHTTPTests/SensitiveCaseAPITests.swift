import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Everything that follows from a sensitive complaint is sensitive with the same readers, and the lodging office
/// closes the loop through a redacted view.
@Suite(.timeLimit(.minutes(2))) struct SensitiveCaseAPITests {
    static let sensitiveComplaint = Body.complaint.replacingOccurrences(
        of: #""category":"payment_delay""#, with: #""category":"staff_conduct""#)

    @Test func theLodgingOfficeNotifiesAndClosesThroughTheRedactedView() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let focal = try await Tokens.create(settings, role: .programme, scope: "CCT", focalPoint: true)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Self.sensitiveComplaint)
            let id = try #require(lodged["id"]?.stringValue)
            #expect(lodged["redacted"] == true, "the office that lodged it sees it redacted: \(lodged.text)")
            #expect(lodged["complainant"] == nil && lodged["events"] == nil)
            try await Self.resolve(id, client: client, focal: focal)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office).status == .notFound)
            let redacted = try await client.send(.get, "/v1/complaints/\(id)/redacted", token: tokens.office)
            #expect(redacted.status == .ok, "\(redacted.text)")
            #expect(redacted["complaint"]?["outcome"] == "upheld")
            #expect(redacted["complaint"]?["allowed_commands"]?.stringArray == ["notify_complainant", "reopen"])
            #expect(redacted["loop"]?["status"] == "awaiting_feedback")
            for secret in ["Amina", "+221", "March payment", "Moved to", "description", "events"] {
                #expect(!redacted.text.contains(secret), "\(secret) in \(redacted.text)")
            }
            // Reading further or acting as the handling side is not the lodging office's.
            let note = try await client.send(
                .post, "/v1/complaints/\(id)/add_note", token: tokens.office, body: #"{"text":"x"}"#)
            #expect(note.status == .forbidden)
            let notified = try await client.send(
                .post, "/v1/complaints/\(id)/notify_complainant", token: tokens.office, body: #"{"method":"phone"}"#)
            #expect(notified.status == .ok, "\(notified.text)")
            #expect(notified["redacted"] == true && notified["complainant"] == nil)
            let closed = try await client.send(
                .post, "/v1/complaints/\(id)/close", token: tokens.office, body: #"{"satisfaction":"satisfied"}"#)
            #expect(closed.status == .ok, "\(closed.text)")
            #expect(closed["complaint"]?["status"] == "closed" && closed["loop"]?["status"] == "closed")
            // Another office does not see it at all.
            let other = try await client.send(.get, "/v1/complaints/\(id)/redacted", token: tokens.otherOffice)
            #expect(other.status == .notFound)
        }
    }

    @Test func theAppealOfASensitiveComplaintIsSeenOnlyByTheFocalPoint() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let focal = try await Tokens.create(settings, role: .programme, scope: "CCT", focalPoint: true)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Self.sensitiveComplaint)
            let id = try #require(lodged["id"]?.stringValue)
            try await Self.resolve(id, client: client, focal: focal)
            for (command, body) in [
                ("notify_complainant", #"{"method":"phone"}"#), ("close", #"{"satisfaction":"not_satisfied"}"#),
            ] {
                let answer = try await client.send(
                    .post, "/v1/complaints/\(id)/\(command)", token: tokens.office, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.text)")
            }
            let reopened = try await client.send(
                .post, "/v1/complaints/\(id)/reopen", token: tokens.office,
                body: #"{"reason":"Still afraid of him.","within_appeal_window":true}"#)
            #expect(reopened.status == .ok, "\(reopened.text)")
            let appeal = try #require(reopened["appeal_opened"]?.stringValue)

            for (token, who) in [
                (tokens.office, "lodging office"), (tokens.programme, "non-focal token"),
                (tokens.coordinator, "coordinator"), (tokens.otherOffice, "other office"),
            ] {
                let view = try await client.send(.get, "/v1/appeals/\(appeal)", token: token)
                #expect(view.status == .notFound, "\(who) reads the appeal: \(view.text)")
            }
            let assign = try await client.send(
                .post, "/v1/appeals/\(appeal)/assign", token: tokens.programme, body: #"{"review_level":"district"}"#)
            #expect(assign.status == .notFound)
            let seen = try await client.send(.get, "/v1/appeals/\(appeal)", token: focal)
            #expect(seen.status == .ok)
            #expect(seen["appeal"]?["sensitive"] == true)
            #expect(seen["appeal"]?["grounds"] == "Still afraid of him.", "\(seen.text)")
            #expect(seen["appellant"]?["name"] == "Amina Diallo")
            let redacted = try await client.send(.get, "/v1/appeals/\(appeal)/redacted", token: tokens.office)
            #expect(redacted.status == .ok && redacted["appellant"] == nil && !redacted.text.contains("afraid"))

            // Lists: not the office's, the non-focal token's or the coordinator's; the focal point's queue has it.
            try await waitForProjections(settings)
            for (uri, token) in [
                ("/v1/offices/OFF-001/cases", tokens.office), ("/v1/programmes/CCT/queue", tokens.programme),
                ("/v1/loops", tokens.coordinator), ("/v1/loops", tokens.office), ("/v1/cases", tokens.office),
            ] {
                let list = try await client.send(.get, uri, token: token)
                #expect(list.status == .ok, "\(uri): \(list.text)")
                #expect(!list.text.contains(appeal) && !list.text.contains(id), "\(uri) lists it: \(list.text)")
            }
            let queue = try await client.send(.get, "/v1/programmes/CCT/queue", token: focal)
            #expect(queue.text.contains(appeal), "\(queue.text)")
            // Coordinators see them only as counts: the complaint (closed loop, reopened: open) and its appeal.
            let counts = try await client.send(.get, "/v1/areas/P-01/sensitive", token: tokens.coordinator)
            #expect(counts.status == .ok && counts["total"] == 2, "\(counts.text)")
            #expect(!counts.text.contains(appeal) && !counts.text.contains(id))
            let officeCounts = try await client.send(.get, "/v1/areas/P-01/sensitive", token: tokens.office)
            #expect(officeCounts.status == .notFound)
        }
    }

    /// The focal point acknowledges and resolves the complaint (upheld).
    static func resolve(_ id: String, client: some TestClientProtocol, focal: String) async throws {
        for (command, body) in [
            ("acknowledge", "{}"), ("assign", #"{"programme":"CCT"}"#),
            ("resolve", #"{"outcome":"upheld","actions_taken":"Moved to another paypoint."}"#),
        ] {
            let answer = try await client.send(.post, "/v1/complaints/\(id)/\(command)", token: focal, body: body)
            #expect(answer.status == .ok, "\(command): \(answer.text)")
        }
    }
}

/// Finding a case by tracking code, phone or national ID, scoped as reads are; nothing kept in clear.
@Suite(.timeLimit(.minutes(2))) struct CaseSearchAPITests {
    @Test func searchByPhoneFindsTheCaseForTheLodgingOfficeAndNothingAfterErasure() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let body = Body.complaint.replacingOccurrences(
                of: #""phone":"+221770000000""#, with: #""phone":"+221770000000","national_id":"sn-123 45""#)
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: body)
            let id = try #require(lodged["id"]?.stringValue)
            try await waitForProjections(settings)
            // Typed differently, found the same: digits with the leading +, national IDs without case or dashes.
            for query in ["phone=%2B221%2077-000-0000", "national_id=SN12345", "tracking_code=\(id.lowercased())"] {
                let found = try await client.send(.get, "/v1/cases?\(query)", token: tokens.office)
                #expect(found.status == .ok, "\(query): \(found.text)")
                #expect(found["cases"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id], "\(query)")
                let other = try await client.send(.get, "/v1/cases?\(query)", token: tokens.otherOffice)
                #expect(other["cases"]?.arrayValue?.isEmpty == true, "\(query): \(other.text)")
            }
            let coordinator = try await client.send(.get, "/v1/cases?phone=221770000000", token: tokens.coordinator)
            #expect(coordinator.status == .forbidden && coordinator["field"] == "phone")
            let empty = try await client.send(.get, "/v1/cases?phone=--", token: tokens.office)
            #expect(empty.status == .badRequest && empty["field"] == "phone")
            // The index keeps no value in clear.
            let index = try await SubjectAPITests.rows(settings, "SELECT t::text FROM case_lookup t")
            #expect(index.count == 2)
            #expect(!index.joined().contains("221770000000") && !index.joined().contains("12345"))

            let erasure = #"{"reason":"Request 2026/53","legal_basis":"Data Protection Act s.16"}"#
            let erased = try await client.send(.post, "/v1/subjects/\(id)/erasure", token: tokens.admin, body: erasure)
            #expect(erased.status == .ok)
            let after = try await client.send(.get, "/v1/cases?phone=%2B221770000000", token: tokens.office)
            #expect(after.status == .ok && after["cases"]?.arrayValue?.isEmpty == true, "\(after.text)")
            #expect(try await SubjectAPITests.rows(settings, "SELECT subject FROM case_lookup").isEmpty)
        }
    }

    @Test func casesAreListedByOfficeStatusAndPeriod() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let first = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(first["id"]?.stringValue)
            let acknowledged = try await client.send(
                .post, "/v1/complaints/\(id)/acknowledge", token: tokens.programme, body: "{}")
            #expect(acknowledged.status == .ok)
            let second = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let other = try #require(second["id"]?.stringValue)
            try await waitForProjections(settings)
            func ids(_ query: String) async throws -> [String] {
                let answer = try await client.send(.get, "/v1/cases?\(query)", token: tokens.admin)
                #expect(answer.status == .ok, "\(query): \(answer.text)")
                return answer["cases"]?.arrayValue?.compactMap { $0["id"]?.stringValue }.sorted() ?? []
            }
            #expect(try await ids("office=OFF-001") == [id, other].sorted())
            #expect(try await ids("office=OFF-001&status=acknowledged") == [id])
            #expect(try await ids("office=OFF-002").isEmpty)
            #expect(try await ids("from=2000-01-01&to=2001-01-01").isEmpty)
            #expect(try await ids("from=2000-01-01&status=lodged") == [other])
            let bad = try await client.send(.get, "/v1/cases?office=NOPE", token: tokens.admin)
            #expect(bad.status == .badRequest && bad["field"] == "office")
        }
    }
}

extension SensitiveCaseAPITests {
    @Test func anAppealLodgedAgainstASensitiveComplaintsOutcomeIsSensitive() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let focal = try await Tokens.create(settings, role: .programme, scope: "CCT", focalPoint: true)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Self.sensitiveComplaint)
            let id = try #require(lodged["id"]?.stringValue)
            let body = Body.appeal.replacingOccurrences(
                of: #""against":"eligibility""#, with: #""against":"complaint_outcome","complaint_id":"\#(id)""#)
            let appeal = try await client.send(.post, "/v1/appeals", token: tokens.office, body: body)
            #expect(appeal.status == .created, "\(appeal.text)")
            #expect(appeal["redacted"] == true && appeal["appeal"]?["sensitive"] == true, "\(appeal.text)")
            let appealID = try #require(appeal["id"]?.stringValue)
            #expect(try await client.send(.get, "/v1/appeals/\(appealID)", token: tokens.office).status == .notFound)
            #expect(try await client.send(.get, "/v1/appeals/\(appealID)", token: focal).status == .ok)
            // An appeal against an ordinary complaint's outcome stays ordinary.
            let plain = try #require(
                try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)["id"]?
                    .stringValue)
            let ordinary = try await client.send(
                .post, "/v1/appeals", token: tokens.office,
                body: body.replacingOccurrences(of: id, with: plain))
            #expect(ordinary.status == .created && ordinary["appeal"]?["sensitive"] == false, "\(ordinary.text)")
        }
    }
}

extension SensitiveCaseAPITests {
    @Test func aReferralMadeFromASensitiveComplaintIsSensitiveAndErasedWithTheComplainant() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let focal = try await Tokens.create(settings, role: .programme, scope: "CCT", focalPoint: true)
        let healthFocal = try await Tokens.create(settings, role: .programme, scope: "HEALTH", focalPoint: true)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Self.sensitiveComplaint)
            let id = try #require(lodged["id"]?.stringValue)
            let body = Body.referral.replacingOccurrences(
                of: #""referral_type":"health""#, with: #""referral_type":"health","complaint_id":"\#(id)""#)
            // Only a sender that reads the complaint may name it.
            for token in [tokens.programme, tokens.office] {
                let refused = try await client.send(.post, "/v1/referrals", token: token, body: body)
                #expect(
                    refused.status == .unprocessableContent && refused["field"] == "complaint_id", "\(refused.text)")
            }
            let created = try await client.send(.post, "/v1/referrals", token: focal, body: body)
            #expect(created.status == .created, "\(created.text)")
            #expect(created["referral"]?["sensitive"] == true && created["person"]?["subject"] == .string(id))
            let referral = try #require(created["id"]?.stringValue)
            for token in [tokens.receiver, tokens.office, tokens.coordinator] {
                #expect(try await client.send(.get, "/v1/referrals/\(referral)", token: token).status == .notFound)
            }
            let receiver = try await client.send(.get, "/v1/referrals/\(referral)", token: healthFocal)
            #expect(receiver["referral"]?["reason"] == "Child needs a nutrition assessment.", "\(receiver.text)")

            let erasure = #"{"reason":"Request 2026/54","legal_basis":"Data Protection Act s.16"}"#
            let erased = try await client.send(.post, "/v1/subjects/\(id)/erasure", token: tokens.admin, body: erasure)
            #expect(erased.status == .ok, "\(erased.text)")
            let after = try await client.send(.get, "/v1/referrals/\(referral)", token: healthFocal)
            let marker: JSONValue = ["subject": .string(id), "erased": true]
            #expect(after["person"] == marker && after["referral"]?["reason"] == marker, "\(after.text)")
        }
    }
}
