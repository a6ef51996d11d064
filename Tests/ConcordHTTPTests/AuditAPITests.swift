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

/// The log for auditors over HTTP.
@Suite struct AuditAPITests {
    @Test func auditorsReadTheLogAsNDJSONAndNobodyElseDoes() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let (status, type, lines, readPosition) = try await client.execute(
                uri: "/v1/audit/events?after=0&limit=100000", method: .get,
                headers: [.authorization: "Bearer \(tokens.auditor)"]
            ) { response in
                (
                    response.status, response.headers[.contentType],
                    String(buffer: response.body).split(separator: "\n").map(String.init),
                    response.headers[try #require(HTTPField.Name("Concord-Read-Position"))]
                )
            }
            #expect(status == .ok && type == "application/x-ndjson")
            #expect(readPosition == nil, "without DATABASE_READ_URL the primary answers, without replica headers")
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

    /// A case and the indicators as they stood at a past position or time, for auditors only; the time in any RFC
    /// 3339 form, the tracking code in any letter case.
    @Test func auditorsSeeTheIndicatorsAndACaseAsTheyStood() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let acknowledged = try await client.send(
                .post, "/v1/complaints/\(id)/acknowledge", token: tokens.programme, body: "{}")
            #expect(acknowledged["complaint"]?["status"] == "acknowledged")
            let lines = try await client.execute(
                uri: "/v1/audit/streams/\(id)", method: .get, headers: [.authorization: "Bearer \(tokens.auditor)"]
            ) { String(buffer: $0.body).split(separator: "\n").map(String.init) }
            let first = try JSONParser.parse(Array(try #require(lines.first).utf8))
            let position = try #require(first["position"]?.integerValue)
            let recorded = try #require(first["recorded_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))

            let lower = id.lowercased().replacingOccurrences(of: "-", with: "")
            let byPosition = try await client.send(
                .get, "/v1/audit/as-of?case=\(lower)&position=\(position)", token: tokens.auditor)
            #expect(byPosition.status == .ok, "\(byPosition.json)")
            #expect(byPosition["complaint"]?["status"] == "lodged" && byPosition["id"] == .string(id))
            #expect(byPosition["as_of_position"] == .integer(position))

            // The same moment written with an offset of +03:00 and in lower case.
            let local = Self.withOffset(recorded, hours: 3).lowercased()
            let byTime = try await client.send(
                .get, "/v1/audit/as-of?case=\(id)&time=\(local.replacingOccurrences(of: "+", with: "%2B"))",
                token: tokens.auditor)
            #expect(byTime.status == .ok, "\(byTime.json)")
            #expect(byTime["complaint"]?["status"] == "lodged")

            let before = try await client.send(.get, "/v1/audit/as-of?case=\(id)&position=1", token: tokens.auditor)
            #expect(before.status == .notFound)

            let indicators = try await client.send(
                .get, "/v1/audit/as-of?view=indicators&position=\(position)", token: tokens.auditor)
            #expect(indicators.status == .ok, "\(indicators.text)")
            // Indicators carry fractions (days to resolution), which JSONParser (integers only) does not take.
            let document = try JSONSerialization.jsonObject(with: Data(indicators.text.utf8)) as? [String: Any]
            #expect(document?["as_of_position"] as? Int == Int(position), "\(indicators.text)")
            let rows = document?["indicators"] as? [[String: Any]] ?? []
            #expect(rows.map { $0["complaints_lodged"] as? Int } == [1], "\(indicators.text)")

            for (uri, token, status, field) in [
                ("/v1/audit/as-of?case=\(id)&position=\(position)", tokens.office, HTTPResponse.Status.forbidden, nil),
                ("/v1/audit/as-of?case=\(id)", tokens.auditor, .badRequest, "time"),
                ("/v1/audit/as-of?case=\(id)&position=1&time=2026-01-01", tokens.auditor, .badRequest, "position"),
                ("/v1/audit/as-of?case=\(id)&time=yesterday", tokens.auditor, .badRequest, "time"),
                ("/v1/audit/as-of?position=3", tokens.auditor, .badRequest, "case"),
                ("/v1/audit/as-of?view=indicators&case=\(id)&position=3", tokens.auditor, .badRequest, "case"),
                ("/v1/audit/as-of?view=charts&position=3", tokens.auditor, .badRequest, "view"),
            ] as [(String, String, HTTPResponse.Status, String?)] {
                let answer = try await client.send(.get, uri, token: token)
                #expect(answer.status == status, "\(uri): \(answer.json)")
                if let field { #expect(answer["field"] == .string(field), "\(uri): \(answer.json)") }
            }
        }
    }

    /// `time` written in the zone `hours` east of UTC (RFC 3339 with an offset, seconds and microseconds).
    static func withOffset(_ time: Timestamp, hours: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: hours * 3600)
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx"
        let micros = time.microsecondsSinceEpoch
        let whole = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(micros / 1_000_000)))
        // DateFormatter rounds fractions to milliseconds: write the microseconds ourselves.
        let fraction = String(format: "%06lld", micros % 1_000_000)
        return whole.replacingOccurrences(of: ".000000", with: "." + fraction)
    }
}
