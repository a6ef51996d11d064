import ConcordCore
import PostgresNIO

extension ProjectionQueries {
    /// The referrals `scope` may read (the lists' rule) whose receiver is `owner` (nil: any) and which changed after
    /// `since` (or at it, when `inclusive`), oldest change first: what a FHIR Task search returns.
    public func referralsChanged(
        scope: CaseScope, owner: String?, since: Timestamp, inclusive: Bool, limit: Int
    ) async throws -> [String] {
        var builder = WhereBuilder(
            query: PostgresQuery(unsafeSQL: "SELECT c.id FROM \(self.tables.sql).cases c WHERE c.kind = 'referral'"),
            now: since, tables: self.tables)
        builder.scope(scope)
        builder.condition("c.programme = ", owner)
        builder.add(" AND concord_microseconds(c.status_since) \(inclusive ? ">=" : ">") ")
        builder.bind(since.microsecondsSinceEpoch)
        var query = builder.query
        query.sql += " ORDER BY c.status_since, c.id LIMIT \(limit)"
        var ids: [String] = []
        for try await id in try await self.client.query(query, logger: self.logger).decode(String.self) {
            ids.append(id)
        }
        return ids
    }
}
