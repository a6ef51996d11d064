import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import MetricsTestKit
import Testing

@Suite(.timeLimit(.minutes(2))) struct EscalationMetricsTests {
    /// `concord_overdue_escalations_total` counts the escalations this process wrote, once each: a later sweep that
    /// finds the escalation done does not count it again.
    @Test func eachOverdueEscalationIsCountedOnce() async throws {
        try await withStore { store, _ in
            let logger = TestDatabases.logger
            try await Workload.appendReference(to: store, at: Day.start)
            try await Cases(store: store).complaint(
                "C-LATE", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(0)))])
            let clock = ManualClock(Day.at(3))
            let metrics = TestMetrics()
            let escalator = OverdueEscalator(
                client: store.client, store: store, clock: clock.wallClock, logger: logger, metrics: metrics)
            let counter = try metrics.expectCounter("concord_overdue_escalations_total")
            #expect(counter.totalValue == 0)
            _ = try await catchUpProjections(client: store.client, store: store, logger: logger)
            let catalog = ReferenceCatalog.replay(Workload.reference(at: Day.start))
            #expect(try await escalator.sweep(catalog: catalog) == 1)
            #expect(counter.totalValue == 1)
            _ = try await catchUpProjections(client: store.client, store: store, logger: logger)
            #expect(try await escalator.sweep(catalog: catalog) == 0)
            #expect(counter.totalValue == 1)
        }
    }
}
