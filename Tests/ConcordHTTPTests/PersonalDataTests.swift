import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Synchronization
import Testing

/// Personal data appears only where a role needs it: never in logs, metrics, error messages, tracking answers, the
/// lists and indicators, or the projection tables.
@Suite(.timeLimit(.minutes(2))) struct PersonalDataTests {
    static let name = "Zawadi Mwangaza"
    static let phone = "+255711222333"
    static let nationalID = "TZ-98765-MW"
    static let household = "HH-MWANGAZA-77"

    @Test func personalDataStaysOutOfLogsMetricsErrorsAndViews() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let coordinator = tokens.coordinator
        let captured = CapturedLog()
        let seen = Mutex<[String]>([])
        try await withApplication(settings: settings, logger: captured.logger) { client in
            func record(_ answer: Answer) { seen.withLock { $0.append("\(answer.status) \(answer.text)") } }
            let body = """
                {"channel":"walk_in","programme":"CCT","category":"payment_delay","description":"Late payment.",
                 "area":"D-01","office":"OFF-001","anonymous":false,
                 "complainant":{"name":"\(Self.name)","phone":"\(Self.phone)","national_id":"\(Self.nationalID)"},
                 "contact_preference":"sms","sensitive":false}
                """
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: body)
            let id = try #require(lodged["id"]?.stringValue)
            // The office that lodged it needs the details, to tell the complainant the outcome.
            #expect(lodged["complainant"]?["name"] == .string(Self.name))
            let referral = try await client.send(
                .post, "/v1/referrals", token: tokens.programme,
                body: Body.referral.replacingOccurrences(of: "HH-42", with: Self.household))
            #expect(referral.status == .created)

            // Bad input that carries personal data: the errors name fields, never echo values. (An unknown
            // reference code is said back to the clerk who typed it, by design: it is a code, not a person.)
            for bad in [
                body.replacingOccurrences(of: "\"sensitive\":false", with: "\"sensitive\":\"\(Self.name)\""),
                body.replacingOccurrences(of: "\"category\":\"payment_delay\"", with: "\"category\":\"\(Self.phone)\""),
                "{\"name\": \"\(Self.name)\"",
            ] {
                let answer = try await client.send(.post, "/v1/complaints", token: tokens.office, body: bad)
                #expect(answer.status.code >= 400)
                record(answer)
            }
            let mistyped = try await client.send(
                .post, "/v1/complaints/\(id)/resolve", token: tokens.programme,
                body: "{\"outcome\":\"\(Self.name)\",\"actions_taken\":\"\(Self.phone)\"}")
            record(mistyped)
            try await waitForProjections(settings)
            // Roles and views that must not carry personal data. Each must answer as expected first: an error page
            // holds no personal data either, and must not pass for a view that keeps it out.
            for (uri, token, expected) in [
                ("/v1/complaints/\(id)", coordinator, HTTPResponse.Status.ok),
                ("/v1/complaints/\(id)", tokens.auditor, .ok), ("/v1/track/\(id)", nil, .ok),
                ("/v1/programmes/CCT/queue", tokens.programme, .ok),
                ("/v1/programmes/HEALTH/queue", tokens.receiver, .ok),
                ("/v1/offices/OFF-001/cases", tokens.office, .ok),
                ("/v1/loops", coordinator, .ok), ("/v1/loops", tokens.auditor, .ok),
                ("/v1/areas/P-01/escalations", coordinator, .ok), ("/v1/track/C-0000-000", nil, .badRequest),
                ("/v1/complaints/C-XXXX-XXX", tokens.office, .notFound),
            ] {
                let answer = try await client.send(.get, uri, token: token)
                #expect(answer.status == expected, "\(uri): \(answer.text)")
                #expect(answer.json.objectMembers != nil, "\(uri) answered no JSON object: \(answer.text)")
                record(answer)
            }
            // The case views that leave the complainant out still show the complaint.
            let coordinatorView = try await client.send(.get, "/v1/complaints/\(id)", token: coordinator)
            #expect(coordinatorView["complaint"]?["status"] == "lodged", "\(coordinatorView.text)")
            #expect(coordinatorView.json.objectMembers?.keys.contains("complainant") == false)
            let indicators = try await client.execute(
                uri: "/v1/indicators?format=csv&group_by=area&level=district", method: .get,
                headers: [.authorization: "Bearer \(tokens.auditor)"]
            ) { String(buffer: $0.body) }
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let ready = try await client.execute(uri: "/readyz", method: .get) { String(buffer: $0.body) }
            seen.withLock { $0 += [indicators, metrics, ready] }
        }
        let tables = try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            var rows: [String] = []
            for table in ["projection.cases", "projection.area_ancestors", "projection.checkpoints"] {
                let result = try await client.query(
                    PostgresQuery(unsafeSQL: "SELECT t::text FROM \(table) t"), logger: TestDatabases.logger)
                for try await row in result.decode(String.self) { rows.append(row) }
            }
            return rows
        }
        let logs = captured.lines.withLock { $0 }
        #expect(logs.count > 20, "the application did log")
        let everything = logs + seen.withLock { $0 } + tables
        #expect(tables.contains { $0.contains("CCT") }, "the projection holds the cases")
        for secret in [Self.name, Self.phone, Self.nationalID, Self.household, "Mwangaza"] {
            let leaks = everything.filter { $0.contains(secret) }
            #expect(leaks.isEmpty, "\(secret) leaked: \(leaks.prefix(3))")
        }
    }
}
