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
    /// One row for everything.
    case total

    /// The grouping named by `group_by` (and `level` for areas), or nil.
    public init?(groupBy: String?, level: String?) {
        switch groupBy ?? "total" {
        case "programme": self = .programme
        case "category": self = .category
        case "channel": self = .channel
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
        case .total: "'all'"
        }
    }
}

/// The M&E indicators, for cases opened in a period, grouped; figures the spreadsheets of M&E officers expect.
public struct Indicators: Sendable {
    /// The columns, in order: the group, then each figure (JSON keys and CSV header).
    public static let columns = [
        "group", "complaints_lodged", "complaints_acknowledged_in_time", "complaints_resolved",
        "complaints_resolved_in_time", "share_resolved_within_service_level", "median_days_to_resolution",
        "p90_days_to_resolution", "appeals_lodged", "appeals_overturned", "referrals_sent", "referrals_accepted",
        "referrals_declined", "referrals_completed", "cases_opened", "loops_closed", "loop_closure_rate",
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

    /// Computes the indicators for cases opened in [`from`, `to`) within `scope`. `open_now` and `overdue_now`
    /// count every case of the group, whenever opened, as it stands at `now`.
    public static func compute(
        client: PostgresClient, tables: CaseTables = .live, scope: CaseScope, grouping: IndicatorGrouping,
        from: Timestamp, to: Timestamp, now: Timestamp, logger: Logger
    ) async throws -> Indicators {
        let join: String =
            if case .area(let level) = grouping {
                "LEFT JOIN \(tables.sql).area_ancestors a ON a.area = c.lodging_area AND a.ancestor_level = '\(level.rawValue)'"
            } else { "" }
        let period =
            "c.opened_at >= concord_time(\(from.microsecondsSinceEpoch)) AND c.opened_at < concord_time(\(to.microsecondsSinceEpoch))"
        let days = { (end: String) in "extract(epoch FROM \(end) - c.opened_at) / 86400" }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT \(grouping.expression) AS grp,
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
                  count(*) FILTER (WHERE p) AS cases_opened,
                  count(*) FILTER (WHERE p AND c.loop_closed_at IS NOT NULL) AS loops_closed,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY \(days("c.feedback_at")))
                    FILTER (WHERE p AND c.kind = 'referral' AND c.feedback_at IS NOT NULL)
                    AS median_days_to_counter_referral,
                  count(*) FILTER (WHERE c.loop <> 'closed') AS open_now,
                  count(*) FILTER (WHERE c.loop <> 'closed' AND c.due_at < concord_time(\(now.microsecondsSinceEpoch)))
                    AS overdue_now
                FROM (SELECT c.*, \(period) AS p FROM \(tables.sql).cases c) c \(join) WHERE true
                """)
        var builder = WhereBuilder(query: query, now: now, tables: tables)
        builder.scope(scope)
        var final = builder.query
        final.sql += " GROUP BY 1 ORDER BY 1"
        var rows: [[String: Value]] = []
        for try await row in try await client.query(final, logger: logger) {
            rows.append(try Self.row(row.makeRandomAccess()))
        }
        return Indicators(rows: rows)
    }

    private static func row(_ columns: PostgresRandomAccessRow) throws -> [String: Value] {
        var row: [String: Value] = ["group": .text(try columns["grp"].decode(String.self))]
        for name in Self.columns.dropFirst() {
            switch name {
            case "share_resolved_within_service_level", "loop_closure_rate": continue
            case let name where name.contains("days"):
                row[name] = .decimal(try columns[name].decode(Double?.self).map(Self.rounded))
            default: row[name] = .count(try columns[name].decode(Int64.self))
            }
        }
        row["share_resolved_within_service_level"] = Self.share(
            row["complaints_resolved_in_time"], of: row["complaints_resolved"])
        row["loop_closure_rate"] = Self.share(row["loops_closed"], of: row["cases_opened"])
        return row
    }

    static func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    static func share(_ part: Value?, of whole: Value?) -> Value {
        guard let part = part?.count, let whole = whole?.count, whole > 0 else { return .decimal(nil) }
        return .decimal(Self.rounded(Double(part) / Double(whole)))
    }

    /// RFC 4180 CSV: a header row, then one row per group.
    public var csv: String {
        var lines = [Self.columns.joined(separator: ",")]
        for row in self.rows {
            lines.append(Self.columns.map { row[$0]?.csv ?? "" }.joined(separator: ","))
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
