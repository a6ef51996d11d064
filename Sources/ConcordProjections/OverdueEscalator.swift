import ConcordCore
import ConcordStore
import CoreMetrics
import Crypto
import Logging
import PostgresNIO

/// Appends `EscalatedForOverdue` to each complaint that is past a due time of its programme's service levels, where
/// the programme escalates overdue complaints: once per due time, even with several processes, restarts and
/// rebuilds. The projection finds the candidates; the decision is the domain's (`Complaint.overdueEscalation`) on
/// the complaint's stream as loaded now; the append expects the loaded version and carries an idempotency key
/// derived from the complaint and the due time, so a second process racing for the same escalation gets the first
/// one's result instead of writing another.
public struct OverdueEscalator: Sendable {
    let client: PostgresClient
    let store: EventStore
    let clock: WallClock
    let logger: Logger
    var tables = CaseTables.live
    /// Complaints this process escalated as overdue (`concord_overdue_escalations_total`).
    let escalations: CoreMetrics.Counter

    public init(
        client: PostgresClient, store: EventStore, clock: WallClock, logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.escalations = CoreMetrics.Counter(label: "concord_overdue_escalations_total", factory: metrics)
        self.client = client
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// Escalates what is overdue now; returns the number of complaints escalated by this call.
    @discardableResult
    public func sweep(catalog: ReferenceCatalog, limit: Int = 500) async throws -> Int {
        let now = self.clock.now()
        let escalating = catalog.programmes.values.filter(\.escalatesWhenOverdue).map(\.code)
        guard !escalating.isEmpty else { return 0 }
        let rows = try await self.client.query(
            """
            SELECT id FROM \(unescaped: self.tables.sql).cases c
            WHERE kind = 'complaint' AND loop <> 'closed' AND waiting_on_kind = 'programme'
              AND waiting_on = ANY(\(escalating)) AND due_at < concord_time(\(now.microsecondsSinceEpoch))
              AND due_at IS DISTINCT FROM overdue_escalated_due_at
              -- nothing above the top level: such a complaint would take a place in every sweep for nothing
              AND NOT EXISTS (SELECT FROM \(unescaped: self.tables.sql).area_ancestors a
                              WHERE a.area = c.area AND a.depth = 0 AND a.ancestor_level = 'country')
            ORDER BY due_at LIMIT \(limit)
            """, acquiringWithin: .seconds(5), logger: self.logger)
        // A sweep during an outage fails within seconds (the runner tries again later) rather than wait for the pool.
        let candidates = try rows.map { try $0.decode(String.self) }
        var escalated = 0
        for id in candidates where try await self.escalate(id, catalog: catalog, now: now) { escalated += 1 }
        return escalated
    }

    private func escalate(_ id: String, catalog: ReferenceCatalog, now: Timestamp) async throws -> Bool {
        let repository = CaseRepository<Complaint>(store: self.store)
        let loaded = try await repository.load(id)
        guard let state = loaded.state,
            let event = Complaint.overdueEscalation(state, catalog: catalog, now: now),
            case .escalatedForOverdue(_, _, _, _, let dueAt, _) = event
        else { return false }
        let key = "overdue-escalation:\(id):\(dueAt.rfc3339)"
        do {
            let result = try await self.store.append(
                to: repository.stream(id), expectedVersion: .exact(loaded.version),
                events: [event.eventData(metadata: EventMetadata(actor: "concord:service-levels", role: "system"))],
                idempotencyKey: key, requestDigest: Array(SHA256.hash(data: Array(key.utf8))))
            if !result.replayed {
                self.escalations.increment()
                self.logger.info("complaint escalated as overdue", metadata: ["complaint": "\(id)"])
            }
            return !result.replayed
        } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
            return false  // changed meanwhile: the next sweep looks again
        }
    }
}
