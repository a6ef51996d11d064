import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite struct ReferralAppealAPITests {
    @Test func aReferralClosesItsLoopOverHTTP() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            // The cash transfer programme refers a household to health; health acts, the source closes the loop.
            let created = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            #expect(created.status == .created, "\(created.json)")
            let id = try #require(created["id"]?.stringValue)
            #expect(id.hasPrefix("R-"))
            // Each side sends its own commands: the source does not accept, the receiver does not cancel.
            let sourceAccepts = try await client.send(
                .post, "/v1/referrals/\(id)/accept", token: tokens.programme, body: "{}")
            #expect(sourceAccepts.status == .forbidden)
            let receiverCancels = try await client.send(
                .post, "/v1/referrals/\(id)/cancel", token: tokens.receiver, body: #"{"reason":"No."}"#)
            #expect(receiverCancels.status == .forbidden)
            for (token, command, body, status) in [
                (tokens.receiver, "acknowledge", "{}", "acknowledged"), (tokens.receiver, "accept", "{}", "accepted"),
                (tokens.receiver, "start_service", "{}", "in_service"),
                (tokens.receiver, "complete", #"{"outcome":"delivered"}"#, "completed"),
                (
                    tokens.receiver, "post_feedback",
                    #"{"outcome":"Assessed; enrolled in nutrition support.","services_given":["assessment"]}"#,
                    "feedback_posted"
                ),
                (tokens.programme, "acknowledge_feedback", "{}", "loop_closed"),
            ] {
                let answer = try await client.send(.post, "/v1/referrals/\(id)/\(command)", token: token, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.json)")
                #expect(answer["referral"]?["status"] == .string(status), "\(command): \(answer.json)")
            }
            let tracked = try await client.send(.get, "/v1/track/\(id)", token: nil)
            #expect(tracked["kind"] == "referral")
            let text = String(decoding: CanonicalJSON.encode(tracked.json), as: UTF8.self)
            #expect(!text.contains("HH-42") && !text.contains("nutrition"))
        }
    }

    @Test func aDeclinedReferralIsRedirectedToANewLinkedReferral() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let created = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            let id = try #require(created["id"]?.stringValue)
            _ = try await client.send(.post, "/v1/referrals/\(id)/acknowledge", token: tokens.receiver, body: "{}")
            let declined = try await client.send(
                .post, "/v1/referrals/\(id)/decline", token: tokens.receiver, body: #"{"reason":"lack_of_capacity"}"#)
            #expect(declined["referral"]?["status"] == "declined", "\(declined.json)")
            let redirected = try await client.send(
                .post, "/v1/referrals/\(id)/redirect", token: tokens.programme, body: #"{"new_receiver":"NUTRITION"}"#)
            #expect(redirected.status == .ok, "\(redirected.json)")
            #expect(redirected["referral"]?["status"] == "redirected")
            let newID = try #require(redirected["referral"]?["redirected_to"]?.stringValue)
            #expect(TrackingCode.parse(newID).map(\.kind) == .success(.referral))
            let successor = try await client.send(.get, "/v1/referrals/\(newID)", token: tokens.programme)
            #expect(successor.status == .ok, "\(successor.json)")
            #expect(successor["referral"]?["redirected_from"] == .string(id))
            #expect(successor["referral"]?["receiver"] == "NUTRITION")
            #expect(successor["referral"]?["status"] == "created")
            #expect(successor["person"]?["reference"] == "HH-42")
        }
    }

    @Test func anAppealIsDecidedAndCommunicatedOverHTTP() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/appeals", token: tokens.office, body: Body.appeal)
            #expect(lodged.status == .created, "\(lodged.json)")
            let id = try #require(lodged["id"]?.stringValue)
            for (token, command, body) in [
                (tokens.programme, "assign", #"{"review_level":"district"}"#),
                (tokens.programme, "decide", #"{"decision":"overturned","reasoning":"Scoring error confirmed."}"#),
                (tokens.office, "notify_appellant", #"{"method":"in_person"}"#),
                (tokens.office, "close", "{}"),
            ] {
                let answer = try await client.send(.post, "/v1/appeals/\(id)/\(command)", token: token, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.json)")
            }
            let shown = try await client.send(.get, "/v1/appeals/\(id)", token: tokens.office)
            #expect(shown["appeal"]?["status"] == "closed")
        }
    }

    @Test func unknownReferenceCodesAre422AndWriteNothing() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let body = Body.complaint.replacingOccurrences(of: #""programme":"CCT""#, with: #""programme":"NOPE""#)
                .replacingOccurrences(of: #""area":"D-01""#, with: #""area":"D-99""#)
            let answer = try await client.send(.post, "/v1/complaints", token: tokens.office, body: body)
            #expect(answer.status == .unprocessableContent)
            #expect(answer["errors"]?.fields == ["area", "programme"])
            let referral = Body.referral.replacingOccurrences(of: #""receiver":"HEALTH""#, with: #""receiver":"MARS""#)
            let refused = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: referral)
            #expect(refused.status == .unprocessableContent)
            #expect(refused["field"] == "receiver")
            let nutrition = Body.referral.replacingOccurrences(
                of: #""receiver":"HEALTH""#, with: #""receiver":"NUTRITION""#)
            #expect(
                try await client.send(.post, "/v1/referrals", token: tokens.programme, body: nutrition).status
                    == .created)
        }
        let head = try await withStore(settings: settings) { store in try await store.readAll(after: 0, limit: 1000) }
        #expect(head.filter { $0.stream.type != "reference" }.count == 1)
    }

    @Test func aCoordinatorSeesItsAreaSubtreeAndMayOnlyEscalateAndNote() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let (province, otherProvince) = try await PostgresClient.withRunning(
            settings.owner, logger: TestDatabases.logger
        ) {
            client in
            let store = TokenStore(client: client, logger: TestDatabases.logger)
            return (
                try await store.create(role: .coordinator, scope: "P-01", label: nil).secret,
                try await store.create(role: .coordinator, scope: "P-02", label: nil).secret
            )
        }
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            // D-01 lies in province P-01.
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: province).status == .ok)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: otherProvince).status == .notFound)
            let acknowledge = try await client.send(
                .post, "/v1/complaints/\(id)/acknowledge", token: province, body: "{}")
            #expect(acknowledge.status == .forbidden)
            let sideways = try await client.send(
                .post, "/v1/complaints/\(id)/escalate", token: province,
                body: #"{"to_area":"P-02","reason":"Overdue."}"#)
            #expect(sideways.status == .unprocessableContent)
            #expect(sideways["field"] == "to_area")
            let escalated = try await client.send(
                .post, "/v1/complaints/\(id)/escalate", token: province,
                body: #"{"to_area":"P-01","reason":"Overdue."}"#)
            #expect(escalated.status == .ok, "\(escalated.json)")
            let coordinatorView = try await client.send(.get, "/v1/complaints/\(id)", token: province)
            #expect(coordinatorView.status == .ok, "\(coordinatorView.text)")
            #expect(coordinatorView["complaint"]?["area"] == "P-01", "\(coordinatorView.text)")
            #expect(coordinatorView.json.objectMembers?.keys.contains("complainant") == false)
            // The other command a coordinator may send.
            let noted = try await client.send(
                .post, "/v1/complaints/\(id)/add_note", token: province, body: #"{"text":"Province follows it."}"#)
            #expect(noted.status == .ok, "\(noted.text)")
            #expect(noted.headers[.eTag] == "\"3\"")
        }
    }

    @Test func aSensitiveComplaintIsSeenOnlyByTheProgrammesFocalPoint() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let focalPoint = try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            try await TokenStore(client: client, logger: TestDatabases.logger)
                .create(role: .programme, scope: "CCT", label: "focal point", focalPoint: true).secret
        }
        try await withApplication(settings: settings) { client in
            let body = Body.complaint.replacingOccurrences(
                of: #""category":"payment_delay""#, with: #""category":"staff_conduct""#)
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: body)
            let id = try #require(lodged["id"]?.stringValue)
            #expect(lodged["complaint"]?["sensitive"] == true)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office).status == .notFound)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.programme).status == .notFound)
            let seen = try await client.send(.get, "/v1/complaints/\(id)", token: focalPoint)
            #expect(seen.status == .ok)
            #expect(seen["complainant"]?["name"] == "Amina Diallo")
            let acknowledged = try await client.send(
                .post, "/v1/complaints/\(id)/acknowledge", token: focalPoint, body: "{}")
            #expect(acknowledged.status == .ok)
        }
    }

    @Test func personalDetailsAreShownOnlyToRolesThatNeedThem() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let office = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            #expect(office["complainant"]?["name"] == "Amina Diallo")
            let auditor = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.auditor)
            #expect(auditor.status == .ok)
            #expect(auditor["complaint"]?["status"] == "lodged", "\(auditor.text)")
            #expect(auditor.json.objectMembers?.keys.contains("complainant") == false)
            #expect(!String(decoding: CanonicalJSON.encode(auditor.json), as: UTF8.self).contains("Amina"))
        }
    }

    @Test func concurrentCommandsOnOneComplaintApplyOnce() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            // Eight clerks acknowledge at once: exactly one acknowledgement lands, the others are told it is done.
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await client.send(
                            .post, "/v1/complaints/\(id)/acknowledge", token: tokens.programme, body: "{}"
                        ).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 7)
            let shown = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            #expect(shown["version"] == 2)
        }
    }
}

@Suite struct UnavailableDatabaseTests {
    @Test func anUnreachableDatabaseIs503WithRetryAfter() async throws {
        var settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        settings.service = .init(
            unixSocketPath: "/nonexistent/.s.PGSQL.5432", username: "concord_service", password: nil, database: "none")
        settings.service.options.connectTimeout = .seconds(1)
        try await withApplication(settings: settings, importReference: false) { client in
            let answer = try await client.send(.get, "/v1/complaints/C-2345-678", token: tokens.office)
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.headers[.retryAfter] == "5")
            #expect(answer.headers[.contentType] == "application/problem+json")
            #expect(try await client.send(.get, "/readyz", token: nil).status == .serviceUnavailable)
            #expect(try await client.send(.get, "/healthz", token: nil).status == .ok)
        }
    }
}
