import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// The projection views over HTTP, with the application's own projection runner keeping them current.
@Suite(.timeLimit(.minutes(2))) struct ProjectionAPITests {
    @Test func queuesAndListsAreScopedAndCurrent() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let coordinator = tokens.coordinator
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            // A case's answer carries its loop: who must act next, and by when.
            #expect(lodged["loop"]?["status"] == "open")
            #expect(lodged["loop"]?["waiting_on"] == "CCT")
            #expect(lodged["loop"]?["next_step"] == "acknowledge")
            #expect(lodged["loop"]?["missing_step"]?.stringValue?.hasPrefix("acknowledgement from ") == true)
            let referral = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            let referralID = try #require(referral["id"]?.stringValue)

            try await waitForProjections(settings)
            let health = try await client.send(.get, "/v1/programmes/HEALTH/queue", token: tokens.receiver)
            #expect(health["queue"]?.arrayValue?.map { $0["id"] } == [.string(referralID)])
            #expect(health["queue"]?.arrayValue?.first?["next_step"] == "acknowledge")

            // Outside one's scope a list does not exist.
            for (uri, token) in [
                ("/v1/programmes/HEALTH/queue", tokens.programme), ("/v1/programmes/CCT/queue", tokens.office),
                ("/v1/offices/OFF-001/cases", tokens.otherOffice), ("/v1/areas/P-02/escalations", coordinator),
                ("/v1/areas/P-01/escalations", tokens.office), ("/v1/programmes/NOPE/queue", tokens.auditor),
            ] {
                let answer = try await client.send(.get, uri, token: token)
                #expect(answer.status == .notFound, "\(uri)")
                #expect(answer.headers[.contentType] == "application/problem+json")
            }
            let office = try await client.send(.get, "/v1/offices/OFF-001/cases", token: tokens.office)
            #expect(office["cases"]?.arrayValue?.map { $0["id"] } == [.string(id)])

            // A coordinator of the province sees the complaint's loop, not the referral (which it cannot read).
            let loops = try await client.send(.get, "/v1/loops", token: coordinator)
            #expect(loops["loops"]?.arrayValue?.map { $0["id"] } == [.string(id)], "\(loops.json)")
            let escalations = try await client.send(.get, "/v1/areas/P-01/escalations", token: coordinator)
            #expect(escalations["escalations"] == [])
            let auditorLoops = try await client.send(.get, "/v1/loops?kind=referral", token: tokens.auditor)
            #expect(auditorLoops["loops"]?.arrayValue?.count == 1)
        }
    }

    @Test func badListParametersAreClearErrors() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            for (query, field) in [
                ("overdue=maybe", "overdue"), ("limit=0", "limit"), ("limit=abc", "limit"), ("after=%%%", "after"),
                ("area=NOPE", "area"), ("kind=ticket", "kind"), ("status=lost", "status"), ("colour=red", "colour"),
                ("category=weather", "category"),
            ] {
                let answer = try await client.send(.get, "/v1/programmes/CCT/queue?\(query)", token: tokens.programme)
                #expect(answer.status == .badRequest, "\(query)")
                #expect(answer["field"] == .string(field), "\(query): \(answer.json)")
            }
            for (query, field) in [
                ("group_by=ward", "group_by"), ("level=district", "level"), ("group_by=area&level=ward", "level"),
                ("from=yesterday", "from"), ("from=2026-12-01&to=2026-11-01", "from"), ("format=xml", "format"),
            ] {
                let answer = try await client.send(.get, "/v1/indicators?\(query)", token: tokens.auditor)
                #expect(answer.status == .badRequest, "\(query)")
                #expect(answer["field"] == .string(field), "\(query): \(answer.json)")
            }
            let loops = try await client.send(.get, "/v1/loops?loop=closed", token: tokens.auditor)
            #expect(loops.status == .badRequest && loops["field"] == "loop")
            let anonymous = try await client.send(.get, "/v1/loops", token: nil)
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func indicatorsComeAsJSONOrCSVForAPeriod() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            _ = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            try await waitForProjections(settings)
            let csv = try await client.execute(
                uri: "/v1/indicators?group_by=area&level=province&from=2020-01-01", method: .get,
                headers: [.authorization: "Bearer \(tokens.auditor)", .accept: "text/csv"]
            ) { response in
                #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                return String(buffer: response.body)
            }
            let lines = csv.split(separator: "\r\n")
            #expect(lines.first?.hasPrefix("group,complaints_lodged,") == true)
            #expect(lines.count == 2 && lines.last?.hasPrefix("P-01,1,") == true, "\(csv)")
            let json = try await client.execute(
                uri: "/v1/indicators?format=json&group_by=programme", method: .get,
                headers: [.authorization: "Bearer \(tokens.auditor)"]
            ) { response in
                #expect(response.headers[.contentType] == "application/json")
                return try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
            }
            let rows = json?["indicators"] as? [[String: Any]]
            #expect(rows?.first?["group"] as? String == "CCT")
            #expect(rows?.first?["complaints_lodged"] as? Int == 1)
            #expect(rows?.first?["open_now"] as? Int == 1)
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("concord_projection_events_behind{projection=\"cases\"}"))
        }
    }
}

extension JSONValue {
    var arrayValue: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }
}
