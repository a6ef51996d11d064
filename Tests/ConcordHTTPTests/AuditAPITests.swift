import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// The log for auditors over HTTP.
@Suite struct AuditAPITests {
    @Test func auditorsReadTheLogAsNDJSONAndNobodyElseDoes() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let (status, type, lines) = try await client.execute(
                uri: "/v1/audit/events?after=0&limit=100000", method: .get,
                headers: [.authorization: "Bearer \(tokens.auditor)"]
            ) { response in
                (
                    response.status, response.headers[.contentType],
                    String(buffer: response.body).split(separator: "\n").map(String.init)
                )
            }
            #expect(status == .ok && type == "application/x-ndjson")
            let positions = try lines.map { line in try JSONParser.parse(Array(line.utf8))["position"]?.integerValue }
            #expect(positions == (1...Int64(lines.count)).map { $0 }, "every event once, in order")
            #expect(lines.last?.contains("\"event_type\":\"ComplaintLodged\"") == true)

            let page = try await client.execute(
                uri: "/v1/audit/events?after=3&limit=2&format=cloudevents", method: .get,
                headers: [.authorization: "Bearer \(tokens.auditor)"]
            ) { String(buffer: $0.body).split(separator: "\n").map(String.init) }
            #expect(page.count == 2 && page.first?.contains("\"concordposition\":4") == true)

            let stream = try await client.execute(
                uri: "/v1/audit/streams/\(id)", method: .get, headers: [.authorization: "Bearer \(tokens.auditor)"]
            ) { String(buffer: $0.body).split(separator: "\n").count }
            #expect(stream == 1)

            let office = try await client.send(.get, "/v1/audit/events", token: tokens.office)
            #expect(office.status == .forbidden)
            let unknown = try await client.send(.get, "/v1/audit/streams/C-0000-000", token: tokens.auditor)
            #expect(unknown.status == .notFound)
            let bad = try await client.send(.get, "/v1/audit/events?limit=0", token: tokens.auditor)
            #expect(bad.status == .badRequest && bad["field"] == "limit")
        }
    }
}
