import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Cases people can read: each role reads the texts of the cases it lodged or handles, the history shows each
/// event's content as the role may see it, and a named person's texts are sealed and erased with them.
@Suite(.timeLimit(.minutes(2))) struct CaseTextAPITests {
    @Test func theProgrammeReadsTheDescriptionAndNotesAndTheOfficeTheOutcome() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            for (command, body) in [
                ("acknowledge", "{}"), ("assign", #"{"programme":"CCT"}"#),
                ("add_note", #"{"text":"Called the paymaster."}"#),
                ("record_finding", #"{"text":"The March list missed her."}"#),
                ("resolve", #"{"outcome":"upheld","actions_taken":"Paid on 4 April."}"#),
            ] {
                let answer = try await client.send(
                    .post, "/v1/complaints/\(id)/\(command)", token: tokens.programme, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.text)")
            }
            let programme = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.programme)
            let complaint = try #require(programme["complaint"])
            #expect(complaint["description"] == "The March payment is late.", "\(programme.text)")
            let note = try #require(complaint["notes"]?.arrayValue?.first)
            #expect(note["text"] == "Called the paymaster.")
            #expect(note["author"]?.stringValue?.hasPrefix("token:") == true, "\(note)")
            #expect(note["at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) != nil, "\(note)")
            #expect(complaint["findings"]?.arrayValue?.first?["text"] == "The March list missed her.")
            // The history shows each event's content: the note's text beside its actor.
            let history = try #require(programme["events"]?.arrayValue)
            let noted = try #require(history.first { $0["type"] == "ComplaintNoteAdded" })
            #expect(noted["content"]?["text"] == "Called the paymaster.")
            #expect(noted["actor"] == note["author"])

            let office = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            #expect(office["complaint"]?["redress_outcome"] == "upheld")
            #expect(office["complaint"]?["actions_taken"] == "Paid on 4 April.", "\(office.text)")

            // Auditors check the process, not what people wrote: events without their texts.
            let auditor = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.auditor)
            #expect(auditor.status == .ok)
            #expect(auditor["complaint"]?["description"] == nil)
            let audited = try #require(auditor["events"]?.arrayValue)
            #expect(audited.count == 6)
            #expect(audited.allSatisfy { $0["content"]?["text"] == nil && $0["content"]?["description"] == nil })
            #expect(audited.first?["content"]?["category"] == "payment_delay")

            // The log holds the named person's texts sealed.
            let stored = try await SubjectAPITests.storedText(settings)
            for text in ["March payment", "paymaster", "missed her", "4 April"] {
                #expect(!stored.contains(text), "\(text) is stored in clear")
            }
        }
    }

    @Test func anAppealsGroundsAndReasoningAndAReferralsReasonAndFormAreReadable() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/appeals", token: tokens.office, body: Body.appeal)
            let appealID = try #require(lodged["id"]?.stringValue)
            for (command, body) in [
                ("assign", #"{"review_level":"district"}"#),
                ("decide", #"{"decision":"overturned","reasoning":"The score used an old census."}"#),
            ] {
                let answer = try await client.send(
                    .post, "/v1/appeals/\(appealID)/\(command)", token: tokens.programme, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.text)")
            }
            let appeal = try await client.send(.get, "/v1/appeals/\(appealID)", token: tokens.office)
            #expect(appeal["appeal"]?["grounds"] == "The household was wrongly scored.", "\(appeal.text)")
            #expect(appeal["appeal"]?["reasoning"] == "The score used an old census.")

            let created = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            let referralID = try #require(created["id"]?.stringValue)
            let receiver = try await client.send(.get, "/v1/referrals/\(referralID)", token: tokens.receiver)
            #expect(receiver["referral"]?["reason"] == "Child needs a nutrition assessment.", "\(receiver.text)")
            #expect(receiver["referral"]?["urgency"] == "priority")
            #expect(receiver["person"]?["form_fields"]?["members"] == "5")
            for (command, body) in [
                ("acknowledge", "{}"),
                ("decline", #"{"reason":"service_not_available","explanation":"Send her to the district clinic."}"#),
            ] {
                let answer = try await client.send(
                    .post, "/v1/referrals/\(referralID)/\(command)", token: tokens.receiver, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.text)")
            }
            let source = try await client.send(.get, "/v1/referrals/\(referralID)", token: tokens.programme)
            let decline = try #require(source["referral"]?["declines"]?.arrayValue?.first, "\(source.text)")
            #expect(decline["explanation"] == "Send her to the district clinic.")
            #expect(decline["reason"] == "service_not_available")
        }
    }

    @Test func afterErasureTheTextsAreGoneAndTheLogStillVerifies() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let noted = try await client.send(
                .post, "/v1/complaints/\(id)/add_note", token: tokens.office, body: #"{"text":"Her son called."}"#)
            #expect(noted.status == .ok)
            let anonymous = try await client.send(
                .post, "/v1/complaints", token: tokens.office,
                body: Body.complaint.replacingOccurrences(
                    of: #""anonymous":false,"complainant":{"name":"Amina Diallo","phone":"+221770000000"}"#,
                    with: #""anonymous":true"#
                ).replacingOccurrences(of: #""contact_preference":"sms""#, with: #""contact_preference":"none""#)
                    .replacingOccurrences(of: "The March payment is late.", with: "Nobody was paid in the village."))
            #expect(anonymous.status == .created, "\(anonymous.text)")
            try await withStore(settings: settings) { store in
                let report = try await store.verify(checkStreams: true)
                #expect(report.isSound)
            }
            let erasure = #"{"reason":"Request 2026/52","legal_basis":"Data Protection Act s.16"}"#
            let erased = try await client.send(
                .post, "/v1/subjects/\(id)/erasure", token: tokens.admin, body: erasure)
            #expect(erased.status == .ok, "\(erased.text)")

            let marker: JSONValue = ["subject": .string(id), "erased": true]
            let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            #expect(view["complaint"]?["description"] == marker, "\(view.text)")
            #expect(view["complaint"]?["notes"]?.arrayValue?.first?["text"] == marker)
            let history = try #require(view["events"]?.arrayValue)
            #expect(history.first?["content"]?["description"] == marker)
            #expect(!view.text.contains("Her son") && !view.text.contains("March payment"))
            // What is written about an erased person is erased with them; the case still moves on.
            let later = try await client.send(
                .post, "/v1/complaints/\(id)/add_note", token: tokens.office, body: #"{"text":"Amina came back."}"#)
            #expect(later.status == .ok, "\(later.text)")
            let stored = try await SubjectAPITests.storedText(settings)
            #expect(!stored.contains("Amina came back"))
            // An anonymous complaint's texts stay in clear.
            #expect(stored.contains("Nobody was paid in the village."))
            try await withStore(settings: settings) { store in
                let report = try await store.verify(checkStreams: true)
                #expect(report.isSound, "\(String(describing: report.problem))")
            }
        }
    }
}
