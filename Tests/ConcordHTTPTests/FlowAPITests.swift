import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// No dead ends over HTTP (issue 10, item 3): triage by the area's coordinator, coordinators' transfers, service
/// types worked by their owning programme or by their own receiver, and appeals acknowledged, noted and withdrawn.
@Suite struct FlowAPITests {
    static let complaintWithoutProgramme = Body.complaint.replacingOccurrences(of: #""programme":"CCT","#, with: "")

    @Test func aComplaintWithoutAProgrammeIsTriagedByItsCoordinatorAndWorkedToClosedLoop() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let otherCoordinator = try await Tokens.create(settings, role: .coordinator, scope: "P-02")
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Self.complaintWithoutProgramme)
            #expect(lodged.status == .created, "\(lodged.json)")
            let id = try #require(lodged["id"]?.stringValue)
            #expect(lodged["complaint"]?["programme"] == nil)
            let path = "/v1/complaints/\(id)"
            // No programme reads it yet; a coordinator of another province does not see it.
            #expect(try await client.send(.get, path, token: tokens.programme).status == .notFound)
            let elsewhere = try await client.send(.post, "\(path)/acknowledge", token: otherCoordinator, body: "{}")
            #expect(elsewhere.status == .notFound)
            // The province's coordinator triages it: acknowledges it and assigns it to CCT.
            let acknowledged = try await client.send(
                .post, "\(path)/acknowledge", token: tokens.coordinator, body: "{}")
            #expect(acknowledged["complaint"]?["status"] == "acknowledged", "\(acknowledged.json)")
            let assigned = try await client.send(
                .post, "\(path)/assign", token: tokens.coordinator, body: #"{"programme":"CCT"}"#)
            #expect(assigned["complaint"]?["status"] == "assigned", "\(assigned.json)")
            #expect(assigned["complaint"]?["programme"] == "CCT")
            // A coordinator still does not resolve; the programme now reads and works it.
            let resolveBody = #"{"outcome":"upheld","actions_taken":"Paid in full."}"#
            let coordinatorResolves = try await client.send(
                .post, "\(path)/resolve", token: tokens.coordinator, body: resolveBody)
            #expect(coordinatorResolves.status == .forbidden)
            let resolved = try await client.send(.post, "\(path)/resolve", token: tokens.programme, body: resolveBody)
            #expect(resolved["complaint"]?["status"] == "resolved", "\(resolved.json)")
            let told = try await client.send(
                .post, "\(path)/notify_complainant", token: tokens.office, body: #"{"method":"sms"}"#)
            #expect(told["complaint"]?["loop_closed"] == true, "\(told.json)")
            let closed = try await client.send(.post, "\(path)/close", token: tokens.office, body: "{}")
            #expect(closed["complaint"]?["status"] == "closed", "\(closed.json)")
            try await waitForProjections(settings)
            let loops = try await client.send(.get, "/v1/loops?kind=complaint", token: tokens.auditor)
            #expect(loops["loops"]?.elements?.isEmpty == true, "\(loops.json)")
        }
    }

    @Test func aSensitiveComplaintWithoutAProgrammeIsRefusedNamingTheField() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let body = Self.complaintWithoutProgramme.replacingOccurrences(
                of: #""category":"payment_delay""#, with: #""category":"sexual_exploitation_abuse""#)
            let refused = try await client.send(.post, "/v1/complaints", token: tokens.office, body: body)
            #expect(refused.status == .unprocessableContent, "\(refused.json)")
            #expect(refused["field"] == "programme")
        }
        let cases = try await withStore(settings: settings) { store in
            try await store.readAll(after: 0, limit: 1000).filter { $0.stream.type != "reference" }
        }
        #expect(cases.isEmpty)
    }

    @Test func aCoordinatorTransfersAComplaintStuckInItsArea() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let otherCoordinator = try await Tokens.create(settings, role: .coordinator, scope: "P-02")
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let path = "/v1/complaints/\(try #require(lodged["id"]?.stringValue))"
            _ = try await client.send(.post, "\(path)/acknowledge", token: tokens.programme, body: "{}")
            _ = try await client.send(.post, "\(path)/assign", token: tokens.programme, body: #"{"programme":"CCT"}"#)
            // A complaint with a programme is not triaged by coordinators: they transfer it, with a reason.
            let noReason = try await client.send(
                .post, "\(path)/transfer", token: tokens.coordinator, body: #"{"to_programme":"PENSION"}"#)
            #expect(noReason.status == .badRequest && noReason["field"] == "reason", "\(noReason.json)")
            let transfer = #"{"to_programme":"PENSION","reason":"A pension matter, stuck at CCT."}"#
            let elsewhere = try await client.send(.post, "\(path)/transfer", token: otherCoordinator, body: transfer)
            #expect(elsewhere.status == .notFound)
            let transferred = try await client.send(
                .post, "\(path)/transfer", token: tokens.coordinator, body: transfer)
            #expect(transferred.status == .ok, "\(transferred.json)")
            #expect(transferred["complaint"]?["programme"] == "PENSION")
            // The new programme works it; the old one no longer reads it.
            #expect(try await client.send(.get, path, token: tokens.otherProgramme).status == .ok)
            #expect(try await client.send(.get, path, token: tokens.programme).status == .notFound)
            try await waitForProjections(settings)
            let queue = try await client.send(.get, "/v1/programmes/PENSION/queue", token: tokens.otherProgramme)
            #expect(queue["queue"]?.elements?.count == 1, "\(queue.json)")
        }
    }

    static func referral(to receiver: String) -> String {
        Body.referral.replacingOccurrences(of: #""receiver":"HEALTH""#, with: #""receiver":"\#(receiver)""#)
    }

    static func queueIDs(_ answer: Answer) -> [String] {
        answer["queue"]?.elements?.compactMap { $0["id"]?.stringValue } ?? []
    }

    @Test func aReferralToGBVSupportIsWorkedFromItsOwnQueueToClosedLoop() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let gbv = try await Tokens.create(settings, role: .programme, scope: "GBV-SUPPORT")
        try await withApplication(settings: settings) { client in
            let created = try await client.send(
                .post, "/v1/referrals", token: tokens.programme, body: Self.referral(to: "GBV-SUPPORT"))
            #expect(created.status == .created, "\(created.json)")
            let id = try #require(created["id"]?.stringValue)
            try await waitForProjections(settings)
            let queue = try await client.send(.get, "/v1/programmes/GBV-SUPPORT/queue", token: gbv)
            #expect(queue.status == .ok, "\(queue.json)")
            #expect(Self.queueIDs(queue) == [id])
            // Nobody else's queue: HEALTH does not own GBV-SUPPORT.
            let health = try await client.send(.get, "/v1/programmes/GBV-SUPPORT/queue", token: tokens.receiver)
            #expect(health.status == .notFound)
            #expect(try await client.send(.get, "/v1/referrals/\(id)", token: tokens.receiver).status == .notFound)
            for (command, body, status) in [
                ("acknowledge", "{}", "acknowledged"), ("accept", "{}", "accepted"),
                ("start_service", "{}", "in_service"), ("complete", #"{"outcome":"delivered"}"#, "completed"),
                (
                    "post_feedback", #"{"outcome":"Counselling given.","services_given":["counselling"]}"#,
                    "feedback_posted"
                ),
            ] {
                let answer = try await client.send(.post, "/v1/referrals/\(id)/\(command)", token: gbv, body: body)
                #expect(answer["referral"]?["status"] == .string(status), "\(command): \(answer.json)")
            }
            let closed = try await client.send(
                .post, "/v1/referrals/\(id)/acknowledge_feedback", token: tokens.programme, body: "{}")
            #expect(closed["referral"]?["status"] == "loop_closed", "\(closed.json)")
            try await waitForProjections(settings)
            let after = try await client.send(.get, "/v1/programmes/GBV-SUPPORT/queue", token: gbv)
            #expect(after.status == .ok && Self.queueIDs(after).isEmpty, "\(after.json)")
        }
    }

    @Test func healthSeesAndWorksANutritionReferral() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let created = try await client.send(
                .post, "/v1/referrals", token: tokens.programme, body: Self.referral(to: "NUTRITION"))
            let id = try #require(created["id"]?.stringValue)
            let shown = try await client.send(.get, "/v1/referrals/\(id)", token: tokens.receiver)
            #expect(shown.status == .ok, "\(shown.json)")
            #expect(
                try await client.send(.get, "/v1/referrals/\(id)", token: tokens.otherProgramme).status == .notFound)
            try await waitForProjections(settings)
            let queue = try await client.send(.get, "/v1/programmes/HEALTH/queue", token: tokens.receiver)
            #expect(Self.queueIDs(queue) == [id], "\(queue.json)")
            let nutritionQueue = try await client.send(.get, "/v1/programmes/NUTRITION/queue", token: tokens.receiver)
            #expect(Self.queueIDs(nutritionQueue) == [id], "\(nutritionQueue.json)")
            let loops = try await client.send(.get, "/v1/loops", token: tokens.receiver)
            #expect(loops["loops"]?.elements?.count == 1, "\(loops.json)")
            let acknowledged = try await client.send(
                .post, "/v1/referrals/\(id)/acknowledge", token: tokens.receiver, body: "{}")
            #expect(acknowledged["referral"]?["status"] == "acknowledged", "\(acknowledged.json)")
            let accepted = try await client.send(
                .post, "/v1/referrals/\(id)/accept", token: tokens.receiver, body: "{}")
            #expect(accepted["referral"]?["status"] == "accepted", "\(accepted.json)")
        }
    }

    @Test func appealsAreAcknowledgedNotedAndWithdrawn() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/appeals", token: tokens.office, body: Body.appeal)
            let path = "/v1/appeals/\(try #require(lodged["id"]?.stringValue))"
            #expect(lodged["appeal"]?["allowed_commands"]?.stringArray?.contains("acknowledge") == true)
            // The handling programme acknowledges, not the office.
            #expect(
                try await client.send(.post, "\(path)/acknowledge", token: tokens.office, body: "{}").status
                    == .forbidden)
            let acknowledged = try await client.send(.post, "\(path)/acknowledge", token: tokens.programme, body: "{}")
            #expect(acknowledged["appeal"]?["status"] == "acknowledged", "\(acknowledged.json)")
            #expect(acknowledged["appeal"]?["acknowledged_at"] != nil)
            // Either side and the area's coordinator add notes; an empty note names its field.
            for token in [tokens.programme, tokens.office, tokens.coordinator] {
                let noted = try await client.send(
                    .post, "\(path)/add_note", token: token, body: #"{"text":"Called the appellant."}"#)
                #expect(noted.status == .ok, "\(noted.json)")
            }
            let empty = try await client.send(.post, "\(path)/add_note", token: tokens.office, body: #"{"text":" "}"#)
            #expect(empty.status == .unprocessableContent && empty["field"] == "text", "\(empty.json)")
            let shown = try await client.send(.get, path, token: tokens.office)
            #expect(shown["appeal"]?["note_count"] == 3, "\(shown.json)")
            // The appellant withdraws through the office, not the programme.
            let withdraw = #"{"reason":"The household was paid."}"#
            #expect(
                try await client.send(.post, "\(path)/withdraw", token: tokens.programme, body: withdraw).status
                    == .forbidden)
            let withdrawn = try await client.send(.post, "\(path)/withdraw", token: tokens.office, body: withdraw)
            #expect(withdrawn["appeal"]?["status"] == "withdrawn", "\(withdrawn.json)")
            #expect(withdrawn["appeal"]?["allowed_commands"]?.stringArray == [])
            let late = try await client.send(
                .post, "\(path)/add_note", token: tokens.office, body: #"{"text":"Late."}"#)
            #expect(late.status == .conflict, "\(late.json)")
            // Withdrawn is a closed loop: it leaves the loops, and the tracking page says it is closed.
            try await waitForProjections(settings)
            let loops = try await client.send(.get, "/v1/loops?kind=appeal", token: tokens.auditor)
            #expect(loops["loops"]?.elements?.isEmpty == true, "\(loops.json)")
            let events = try await client.send(.get, "/v1/audit/events?after=0&limit=100", token: tokens.auditor)
            for type in ["AppealAcknowledged", "AppealNoteAdded", "AppealWithdrawn"] {
                #expect(events.text.contains(type), "no \(type) in the log")
            }
        }
    }
}

extension JSONValue {
    /// The elements of an array; nil for anything else.
    fileprivate var elements: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }
}
