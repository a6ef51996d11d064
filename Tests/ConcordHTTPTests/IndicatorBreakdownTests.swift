import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Indicators people ask for (issue 10, item 7): a monthly series, breakdowns by the person's recorded sex, age
/// group and disability, and a CSV that says its period and comes as a named file.
@Suite struct IndicatorBreakdownTests {
    /// 2026-09-15T10:00:00Z.
    static let september = Timestamp(microsecondsSinceEpoch: 1_789_466_400_000_000)

    static func complaint(_ attributes: String) -> String {
        Body.complaint.replacingOccurrences(of: #""sensitive":false"#, with: #""sensitive":false\#(attributes)"#)
    }

    /// Two complaints in September 2026 (two women, one 18-24 with a disability), two in October (a man; one with
    /// nothing recorded, lodged for an anonymous complainant with attributes would also do).
    static func lodgeKnownData(_ client: any TestClientProtocol, _ tokens: Tokens, _ clock: ManualClock) async throws {
        for attributes in [
            #","sex":"female","age_group":"18-24","disability":"yes""#, #","sex":"female","age_group":"60+""#,
        ] {
            let lodged = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Self.complaint(attributes))
            #expect(lodged.status == .created, "\(lodged.json)")
        }
        clock.advance(days: 31)
        for attributes in [#","sex":"male","disability":"no""#, ""] {
            let lodged = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Self.complaint(attributes))
            #expect(lodged.status == .created, "\(lodged.json)")
        }
    }

    static func rows(_ answer: Answer) -> [JSONValue] {
        guard case .array(let rows)? = answer["indicators"] else { return [] }
        return rows
    }

    static func counts(_ answer: Answer, key: String = "group") -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for row in Self.rows(answer) {
            guard let group = row[key]?.stringValue, case .integer(let count)? = row["complaints_lodged"] else {
                continue
            }
            counts[group] = count
        }
        return counts
    }

    @Test func indicatorsComeByMonthAndBySexAgeGroupAndDisability() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let clock = ManualClock(Self.september)
        try await withApplication(settings: settings, configure: { $0.clock = clock.wallClock }) { client in
            try await Self.lodgeKnownData(client, tokens, clock)
            try await waitForProjections(settings)
            let period = "from=2026-09-01&to=2026-12-01"
            let monthly = try await client.send(.get, "/v1/indicators?by=month&\(period)", token: tokens.auditor)
            #expect(monthly.status == .ok, "\(monthly.json)")
            #expect(monthly["by"] == "month")
            // Every month of the period, November with nothing opened.
            #expect(
                Self.counts(monthly, key: "month") == ["2026-09": 2, "2026-10": 2, "2026-11": 0], "\(monthly.json)")
            let bySex = try await client.send(.get, "/v1/indicators?group_by=sex&\(period)", token: tokens.auditor)
            #expect(Self.counts(bySex) == ["female": 2, "male": 1, "not_recorded": 1], "\(bySex.json)")
            let byAge = try await client.send(
                .get, "/v1/indicators?group_by=age_group&\(period)", token: tokens.auditor)
            #expect(Self.counts(byAge) == ["18-24": 1, "60+": 1, "not_recorded": 2], "\(byAge.json)")
            let byDisability = try await client.send(
                .get, "/v1/indicators?group_by=disability&\(period)", token: tokens.auditor)
            #expect(Self.counts(byDisability) == ["yes": 1, "no": 1, "not_recorded": 2], "\(byDisability.json)")
            // Both at once: by sex, month by month.
            let series = try await client.send(
                .get, "/v1/indicators?by=month&group_by=sex&\(period)", token: tokens.auditor)
            let pairs = Self.rows(series).compactMap { row -> String? in
                guard let month = row["month"]?.stringValue, let group = row["group"]?.stringValue,
                    case .integer(let count)? = row["complaints_lodged"]
                else { return nil }
                return "\(month) \(group) \(count)"
            }
            #expect(pairs == ["2026-09 female 2", "2026-10 male 1", "2026-10 not_recorded 1"], "\(series.json)")
            let bad = try await client.send(.get, "/v1/indicators?by=week", token: tokens.auditor)
            #expect(bad.status == .badRequest && bad["field"] == "by", "\(bad.json)")
        }
    }

    @Test func theCSVCarriesItsPeriodAndComesAsANamedFile() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let clock = ManualClock(Self.september)
        try await withApplication(settings: settings, configure: { $0.clock = clock.wallClock }) { client in
            try await Self.lodgeKnownData(client, tokens, clock)
            try await waitForProjections(settings)
            let query = "/v1/indicators?by=month&from=2026-09-01&to=2026-12-01"
            let json = try await client.send(.get, query, token: tokens.auditor)
            let (from, to, asOf) = (
                try #require(json["from"]?.stringValue), try #require(json["to"]?.stringValue),
                try #require(json["as_of"]?.stringValue)
            )
            let csv = try await client.send(.get, query + "&format=csv", token: tokens.auditor)
            #expect(csv.status == .ok)
            #expect(
                csv.headers[.contentDisposition]
                    == #"attachment; filename="concord-indicators-2026-09-01-2026-12-01.csv""#)
            let lines = csv.text.split(separator: "\r\n").map(String.init)
            #expect(lines.first?.hasPrefix("month,group,complaints_lodged,") == true, "\(csv.text)")
            #expect(lines.first?.hasSuffix(",from,to,as_of") == true, "\(csv.text)")
            #expect(lines.count == 4, "\(csv.text)")
            for line in lines.dropFirst() {
                #expect(line.hasSuffix(",\(from),\(to),\(asOf)"), "\(line)")
            }
            #expect(lines.dropFirst().first?.hasPrefix("2026-09,all,2,") == true, "\(csv.text)")
        }
    }

    @Test func aBadAttributeIsRefusedNamingItsFieldAndAnonymousComplainantsMayHaveThem() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let bad = try await client.send(
                .post, "/v1/complaints", token: tokens.office, body: Self.complaint(#","sex":"unknown""#))
            #expect(bad.status == .badRequest, "\(bad.json)")
            #expect(bad.headers[.contentType] == "application/problem+json")
            #expect(bad["field"] == "sex", "\(bad.json)")
            #expect(bad["detail"]?.stringValue?.contains("female") == true, "\(bad.json)")
            let badAge = try await client.send(
                .post, "/v1/appeals", token: tokens.office,
                body: Body.appeal.replacingOccurrences(
                    of: #""contact_preference":"in_person""#,
                    with: #""contact_preference":"in_person","age_group":"30-40""#))
            #expect(badAge.status == .badRequest && badAge["field"] == "age_group", "\(badAge.json)")
            let badDisability = try await client.send(
                .post, "/v1/referrals", token: tokens.programme,
                body: Body.referral.replacingOccurrences(
                    of: #""urgency":"priority""#, with: #""urgency":"priority","disability":"maybe""#))
            #expect(badDisability.status == .badRequest && badDisability["field"] == "disability")
            let anonymous = #"""
                {"channel":"sms","programme":"CCT","category":"payment_delay","description":"Late.","area":"D-01",
                 "office":"OFF-001","anonymous":true,"contact_preference":"none","sensitive":false,
                 "sex":"female","age_group":"0-17","disability":"not_stated"}
                """#
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: anonymous)
            #expect(lodged.status == .created, "\(lodged.json)")
            #expect(lodged["complaint"]?["sex"] == "female" && lodged["complaint"]?["age_group"] == "0-17")
        }
        // Only the anonymous complaint was stored.
        let cases = try await withStore(settings: settings) { store in
            try await store.readAll(after: 0, limit: 1000).filter { $0.stream.type != "reference" }
        }
        #expect(cases.count == 1)
        #expect(cases.first?.payload["disability"] == "not_stated")
    }
}
