import ConcordCore
import Foundation
import ConcordStore
import Logging
import PostgresNIO

/// How indicator rows are grouped.
public enum IndicatorGrouping: Sendable, Hashable {
    case programme
    /// By the area, at this level, that each case's lodging area lies in: indicators roll up the tree.
    case area(AreaLevel)
    case category
    case channel
    /// By the person's recorded sex, age group or disability (`not_recorded` where none was recorded).
    case sex
    case ageGroup
    case disability
    /// One row for everything.
    case total

    /// The grouping named by `group_by` (and `level` for areas), or nil.
    public init?(groupBy: String?, level: String?) {
        switch groupBy ?? "total" {
        case "programme": self = .programme
        case "category": self = .category
        case "channel": self = .channel
        case "sex": self = .sex
        case "age_group": self = .ageGroup
        case "disability": self = .disability
        case "total": self = .total
        case "area":
            guard let level = AreaLevel(rawValue: level ?? "district") else { return nil }
            self = .area(level)
        default: return nil
        }
    }

    var expression: String {
        switch self {
        case .programme: "coalesce(c.programme, '(none)')"
        case .area: "coalesce(a.ancestor, '(none)')"
        case .category: "coalesce(c.category, '(none)')"
        case .channel: "coalesce(c.channel, '(none)')"
        case .sex: "coalesce(c.sex, 'not_recorded')"
        case .ageGroup: "coalesce(c.age_group, 'not_recorded')"
        case .disability: "coalesce(c.disability, 'not_recorded')"
        case .total: "'all'"
        }
    }

    /// The `group_by` values, as errors list them.
    public static let names = [
        "programme", "area", "category", "channel", "sex", "age_group", "disability", "total",
    ]
}

/// How indicator rows are laid out in time.
public enum IndicatorSeries: Sendable, Hashable {
    /// One set of rows for the whole period.
    case period
    /// One set of rows per calendar month (UTC) of the period, by the month the case was opened: a time series.
    case month
}

/// The M&E indicators, for cases opened in a period, grouped; figures the spreadsheets of M&E officers expect.
public struct Indicators: Sendable {
    /// The columns, in order: the group, then each figure (JSON keys and CSV header).
    public static let columns = [
        "group", "complaints_lodged", "complaints_acknowledged_in_time", "complaints_resolved",
        "complaints_resolved_in_time", "share_resolved_within_service_level", "median_days_to_resolution",
        "p90_days_to_resolution", "appeals_lodged", "appeals_overturned", "referrals_sent", "referrals_accepted",
        "referrals_declined", "referrals_completed", "referrals_delivered", "referral_success_rate", "cases_opened",
        "loops_closed", "loop_closure_rate",
        "median_days_to_counter_referral", "open_now", "overdue_now",
    ]

    /// One value of an indicator row.
    public enum Value: Sendable, Hashable {
        case text(String)
        case count(Int64)
        /// Days or a share, rounded to two decimals; nil when there is nothing to measure.
        case decimal(Double?)

        var json: Any {
            switch self {
            case .text(let text): text
            case .count(let count): count
            case .decimal(let value): value.map { $0 as Any } ?? NSNull()
            }
        }

        var csv: String {
            switch self {
            case .text(let text):
                guard text.contains(where: { ",\"\r\n".contains($0) }) else { return text }
                return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            case .count(let count): return String(count)
            case .decimal(let value): return value.map { String($0) } ?? ""
            }
        }

        var count: Int64? {
            guard case .count(let count) = self else { return nil }
            return count
        }
    }

    public var rows: [[String: Value]]
    /// `month` rows carry a `month` column (`2026-11`) before `group`.
    public var series: IndicatorSeries = .period

    /// The columns of these rows, in order.
    public var rowColumns: [String] { self.series == .month ? ["month"] + Self.columns : Self.columns }

    /// Computes the indicators for cases opened in [`from`, `to`) within `scope` (and `filter`, as lists filter:
    /// a programme, an area's subtree). `open_now` and `overdue_now` count every case of the group, whenever
    /// opened, as it stands at `now`.
    public static func compute(
        client: PostgresClient, tables: CaseTables = .live, scope: CaseScope, filter: CaseFilter = CaseFilter(),
        grouping: IndicatorGrouping, series: IndicatorSeries = .period, from: Timestamp, to: Timestamp,
        now: Timestamp, logger: Logger
    ) async throws -> Indicators {
        // A month's row counts the cases opened in it: `open_now` and `overdue_now` too.
        let month = "to_char(c.opened_at AT TIME ZONE 'UTC', 'YYYY-MM')"
        let (monthColumn, monthOnly) = series == .month ? ("\(month) AS month, ", " AND p") : ("", "")
        let join: String =
            if case .area(let level) = grouping {
                "LEFT JOIN \(tables.sql).area_ancestors a ON a.area = c.lodging_area AND a.ancestor_level = '\(level.rawValue)'"
            } else { "" }
        let period =
            "c.opened_at >= concord_time(\(from.microsecondsSinceEpoch)) AND c.opened_at < concord_time(\(to.microsecondsSinceEpoch))"
        let days = { (end: String) in "extract(epoch FROM \(end) - c.opened_at) / 86400" }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT \(monthColumn)\(grouping.expression) AS grp,
                  count(*) FILTER (WHERE p AND c.kind = 'complaint') AS complaints_lodged,
                  count(*) FILTER (WHERE p AND c.kind = 'complaint' AND c.acknowledged_at <= c.acknowledge_due_at)
                    AS complaints_acknowledged_in_time,
                  count(*) FILTER (WHERE p AND c.kind = 'complaint' AND c.answered_at IS NOT NULL) AS complaints_resolved,
                  count(*) FILTER (WHERE p AND c.kind = 'complaint' AND c.answered_at <= c.answer_due_at)
                    AS complaints_resolved_in_time,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY \(days("c.answered_at")))
                    FILTER (WHERE p AND c.kind = 'complaint' AND c.answered_at IS NOT NULL) AS median_days_to_resolution,
                  percentile_cont(0.9) WITHIN GROUP (ORDER BY \(days("c.answered_at")))
                    FILTER (WHERE p AND c.kind = 'complaint' AND c.answered_at IS NOT NULL) AS p90_days_to_resolution,
                  count(*) FILTER (WHERE p AND c.kind = 'appeal') AS appeals_lodged,
                  count(*) FILTER (WHERE p AND c.kind = 'appeal' AND c.outcome IN ('overturned', 'partly_overturned'))
                    AS appeals_overturned,
                  count(*) FILTER (WHERE p AND c.kind = 'referral') AS referrals_sent,
                  count(*) FILTER (WHERE p AND c.kind = 'referral' AND c.outcome = 'accepted') AS referrals_accepted,
                  count(*) FILTER (WHERE p AND c.kind = 'referral' AND c.outcome = 'declined') AS referrals_declined,
                  count(*) FILTER (WHERE p AND c.kind = 'referral' AND c.answered_at IS NOT NULL) AS referrals_completed,
                  count(*) FILTER (WHERE p AND c.kind = 'referral' AND c.service_outcome = 'delivered')
                    AS referrals_delivered,
                  count(*) FILTER (WHERE p) AS cases_opened,
                  count(*) FILTER (WHERE p AND c.loop_closed_at IS NOT NULL) AS loops_closed,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY \(days("c.feedback_at")))
                    FILTER (WHERE p AND c.kind = 'referral' AND c.feedback_at IS NOT NULL)
                    AS median_days_to_counter_referral,
                  count(*) FILTER (WHERE c.loop <> 'closed') AS open_now,
                  count(*) FILTER (WHERE c.loop <> 'closed' AND c.due_at < concord_time(\(now.microsecondsSinceEpoch)))
                    AS overdue_now
                FROM (SELECT c.*, \(period) AS p FROM \(tables.sql).cases c) c \(join) WHERE true\(monthOnly)
                """)
        var builder = WhereBuilder(query: query, now: now, tables: tables)
        builder.scope(scope)
        builder.filter(filter)
        var final = builder.query
        final.sql += series == .month ? " GROUP BY 1, 2 ORDER BY 1, 2" : " GROUP BY 1 ORDER BY 1"
        var rows: [[String: Value]] = []
        for try await row in try await client.query(final, logger: logger) {
            let columns = row.makeRandomAccess()
            var values = try Self.row(columns)
            if series == .month { values["month"] = .text(try columns["month"].decode(String.self)) }
            rows.append(values)
        }
        var indicators = Indicators(rows: rows, series: series)
        if series == .month, grouping == .total { indicators.fillMonths(from: from, to: to) }
        return indicators
    }

    /// Adds a zero row for each month of [`from`, `to`) that opened no case, so that a total series has every
    /// month of its period.
    mutating func fillMonths(from: Timestamp, to: Timestamp) {
        let present = Set(
            self.rows.compactMap { row -> String? in
                guard case .text(let month)? = row["month"] else { return nil }
                return month
            })
        for month in Self.months(from: from, to: to) where !present.contains(month) {
            var row: [String: Value] = ["month": .text(month), "group": .text("all")]
            for name in Self.columns.dropFirst() {
                row[name] =
                    name.contains("days") || name.contains("share") || name.contains("rate") ? .decimal(nil) : .count(0)
            }
            self.rows.append(row)
        }
        self.rows.sort { (row: [String: Value], other: [String: Value]) in
            (row["month"]?.csv ?? "") < (other["month"]?.csv ?? "")
        }
    }

    /// The calendar months (UTC, `YYYY-MM`) that [`from`, `to`) touches, at most 1,200 of them.
    static func months(from: Timestamp, to: Timestamp) -> [String] {
        let start = from.rfc3339.prefix(7)
        let end = Timestamp(microsecondsSinceEpoch: to.microsecondsSinceEpoch - 1).rfc3339.prefix(7)
        // Four-digit years, so that the texts compare as the months do.
        guard var year = Int(start.prefix(4)), year >= 1000, var month = Int(start.suffix(2)) else { return [] }
        var months: [String] = []
        while months.count < 1_200 {
            let text = "\(year)-" + (month < 10 ? "0" : "") + "\(month)"
            guard text <= end else { break }
            months.append(text)
            (year, month) = month == 12 ? (year + 1, 1) : (year, month + 1)
        }
        return months
    }

    private static func row(_ columns: PostgresRandomAccessRow) throws -> [String: Value] {
        var row: [String: Value] = ["group": .text(try columns["grp"].decode(String.self))]
        for name in Self.columns.dropFirst() {
            switch name {
            case "share_resolved_within_service_level", "loop_closure_rate", "referral_success_rate": continue
            case let name where name.contains("days"):
                row[name] = .decimal(try columns[name].decode(Double?.self).map(Self.rounded))
            default: row[name] = .count(try columns[name].decode(Int64.self))
            }
        }
        row["share_resolved_within_service_level"] = Self.share(
            row["complaints_resolved_in_time"], of: row["complaints_resolved"])
        row["loop_closure_rate"] = Self.share(row["loops_closed"], of: row["cases_opened"])
        row["referral_success_rate"] = Self.share(row["referrals_delivered"], of: row["referrals_completed"])
        return row
    }

    static func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    static func share(_ part: Value?, of whole: Value?) -> Value {
        guard let part = part?.count, let whole = whole?.count, whole > 0 else { return .decimal(nil) }
        return .decimal(Self.rounded(Double(part) / Double(whole)))
    }

    /// RFC 4180 CSV: a header row, then one row per group.
    public var csv: String {
        self.csv(period: [:])
    }

    /// RFC 4180 CSV whose every row ends with the `period` columns (`from`, `to`, `as_of`): a file read on its own
    /// still says what it covers.
    public func csv(period: KeyValuePairs<String, String>) -> String {
        var lines = [(self.rowColumns + period.map(\.key)).joined(separator: ",")]
        for row in self.rows {
            lines.append(
                (self.rowColumns.map { row[$0]?.csv ?? "" } + period.map { Value.text($0.value).csv })
                    .joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// `{"indicators": [...]}` plus `extra` members, as JSON bytes with sorted keys.
    public func json(extra: [String: any Sendable]) throws -> Data {
        var document: [String: Any] = extra
        document["indicators"] = self.rows.map { $0.mapValues(\.json) }
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
    }
}
