import ConcordCore
import PostgresNIO

extension ProjectionQueries {
    /// How many sensitive complaints and appeals lie in `area`'s subtree (by their current area), by loop status at
    /// `now`: what a coordinator, who reads none of them, may know of them.
    public func sensitiveCounts(area: String, now: Timestamp) async throws -> [String: Int64] {
        let rows = try await self.client.query(
            """
            SELECT count(*) FILTER (WHERE c.loop <> 'closed' AND NOT coalesce(c.due_at < concord_time(\(now.microsecondsSinceEpoch)), false)),
                   count(*) FILTER (WHERE c.loop <> 'closed' AND c.due_at < concord_time(\(now.microsecondsSinceEpoch))),
                   count(*) FILTER (WHERE c.loop = 'closed'),
                   count(*)
            FROM \(unescaped: self.tables.sql).cases c
            WHERE c.sensitive AND c.kind <> 'referral' AND EXISTS (
                SELECT FROM \(unescaped: self.tables.sql).area_ancestors a WHERE a.area = c.area AND a.ancestor = \(area))
            """, logger: self.logger)
        for try await (open, overdue, closed, total) in rows.decode((Int64, Int64, Int64, Int64).self) {
            return ["open": open, "overdue": overdue, "closed": closed, "total": total]
        }
        return ["open": 0, "overdue": 0, "closed": 0, "total": 0]
    }
}
