import ConcordCore
import Testing

/// The query parameters' dates and times: RFC 3339 section 5.6, with every field in range.
@Suite struct RFC3339Tests {
    static func parse(_ text: String) -> Timestamp? { try? Timestamp.parseRFC3339(text).get() }

    static func reason(_ text: String) -> String? {
        guard case .failure(let error) = Timestamp.parseRFC3339(text) else { return nil }
        return error.description
    }

    @Test func validDatesAndTimesMeanTheInstantTheySay() {
        let cases: [(String, String)] = [
            ("2026-11-01", "2026-11-01T00:00:00.000000Z"),
            ("2026-11-01T09:30:00Z", "2026-11-01T09:30:00.000000Z"),
            ("2026-11-01t09:30:00z", "2026-11-01T09:30:00.000000Z"),
            ("2026-11-01T12:30:00+03:00", "2026-11-01T09:30:00.000000Z"),
            ("2026-11-01T00:30:00-01:15", "2026-11-01T01:45:00.000000Z"),
            ("2026-11-01T09:30:00-00:00", "2026-11-01T09:30:00.000000Z"),
            ("2026-11-01T09:30:00.5Z", "2026-11-01T09:30:00.500000Z"),
            ("2026-11-01T09:30:00.123456789Z", "2026-11-01T09:30:00.123456Z"),
            ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59.000000Z"),
            ("2000-02-29", "2000-02-29T00:00:00.000000Z"),
            ("2026-01-01T00:00:00+23:59", "2025-12-31T00:01:00.000000Z"),
        ]
        for (text, expected) in cases {
            #expect(Self.parse(text)?.rfc3339 == expected, "\(text)")
        }
        // The log's own form parses back to itself.
        let now = Timestamp.now()
        #expect(Self.parse(now.rfc3339) == now)
    }

    @Test func everyMalformedOrOutOfRangeFieldIsRefusedWithItsReason() {
        let cases: [(String, String)] = [
            ("2026-02-30", "day 30 does not exist in 2026-02"),
            ("2026-02-29", "day 29 does not exist in 2026-02"),
            ("1900-02-29", "day 29 does not exist in 1900-02"),
            ("2026-04-31", "day 31 does not exist in 2026-04"),
            ("2026-00-10", "month 0 does not exist"),
            ("2026-13-01", "month 13 does not exist"),
            ("2026-01-00", "day 0 does not exist"),
            ("2026-01-01T25:00:00Z", "hour 25 does not exist"),
            ("2026-01-01T24:00:00Z", "hour 24 does not exist"),
            ("2026-01-01T10:60:00Z", "minute 60 does not exist"),
            ("2026-01-01T10:00:60Z", "second 60 is not accepted"),
            ("2026-01-01T10:00:00+25:00", "offset 25:00 does not exist"),
            ("2026-01-01T10:00:00+05:60", "offset 05:60 does not exist"),
            ("2026-01-01T10:00:00", "needs its time zone"),
            ("2026-01-01T10:00:00.Z", "needs digits after it"),
            ("2026-01-01T10:00:00+0300", "+hh:mm"),
            ("2026-01-01T10:00Z", "hh:mm:ss"),
            ("2026-01-01 10:00:00Z", "followed by T"),
            ("2026-1-1", "YYYY-MM-DD"),
            ("26-01-01", "YYYY-MM-DD"),
            ("", "YYYY-MM-DD"),
            ("2026-01-01T10:00:00Zjunk", "unexpected text"),
            ("２０２６-01-01", "YYYY-MM-DD"),
        ]
        for (text, reason) in cases {
            let said = Self.reason(text)
            #expect(said?.contains(reason) == true, "\(text): \(said ?? "accepted")")
        }
    }
}
