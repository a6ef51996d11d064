import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import PostgresNIO
import Testing

@Suite(.timeLimit(.minutes(2))) struct EscalationTests {
    /// A CCT complaint (acknowledgement due in 2 days; CCT escalates overdue complaints) goes overdue and is
    /// escalated exactly once: not by a second process, not after a restart, not after a rebuild.
    @Test func anOverdueComplaintEscalatesOnceWhateverHappensAfter() async throws {
        try await withStore { store, settings in
            let logger = TestDatabases.logger
            try await Workload.appendReference(to: store, at: Day.start)
            let cases = Cases(store: store)
            try await cases.complaint("C-LATE", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(0)))])
            try await cases.complaint("C-PENSION", [.lodge(Cases.lodgement(programme: "PENSION", at: Day.at(0)))])
            let clock = ManualClock(Day.at(1))
            let escalator = OverdueEscalator(client: store.client, store: store, clock: clock.wallClock, logger: logger)
            _ = try await catchUpProjections(client: store.client, store: store, logger: logger)
            let catalog = ReferenceCatalog.replay(Workload.reference(at: Day.start))
            #expect(try await escalator.sweep(catalog: catalog) == 0, "not overdue yet")

            clock.advance(days: 2)
            // Two processes sweep at once: one escalation between them.
            try await withStore(settings: settings) { other in
                let second = OverdueEscalator(
                    client: other.client, store: other, clock: clock.wallClock, logger: logger)
                async let first = escalator.sweep(catalog: catalog)
                async let again = second.sweep(catalog: catalog)
                let total = try await first + again
                #expect(total == 1)
            }
            #expect(try await count(ofType: "EscalatedForOverdue", in: store.client) == 1)
            let escalated = try await CaseRepository<Complaint>(store: store).load("C-LATE")
            #expect(escalated.state?.area == "D-11" && escalated.state?.escalationLevel == 1)
            #expect(escalated.events.last?.metadata.actor == "concord:service-levels")

            // A restart (a new escalator, the projection caught up) and a rebuild find nothing more to do.
            _ = try await catchUpProjections(client: store.client, store: store, logger: logger)
            let restarted = OverdueEscalator(client: store.client, store: store, clock: clock.wallClock, logger: logger)
            #expect(try await restarted.sweep(catalog: catalog) == 0)
            try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                _ = try await ProjectionRebuild(
                    client: owner, store: EventStore(client: owner, logger: logger), logger: logger
                ).run()
            }
            #expect(try await restarted.sweep(catalog: catalog) == 0)
            #expect(try await count(ofType: "EscalatedForOverdue", in: store.client) == 1)

            // The escalation is in the coordinator's view and the queue still shows the complaint overdue.
            let queries = ProjectionQueries(client: store.client, logger: logger)
            var filter = CaseFilter()
            filter.escalated = true
            filter.area = "P-1"
            let page = try await queries.cases(
                scope: .everything, filter: filter, order: .due, after: nil, limit: 10, now: clock.now())
            #expect(page.items.map(\.id) == ["C-LATE"])
            #expect(page.items.first?.json["escalated_for_overdue"] == true)
            #expect(page.items.first?.json["overdue"] == true)

            // Once the new due time (resolution, 10 days) passes, it escalates one level further, once.
            try await cases.complaint("C-LATE", [.acknowledge(at: Day.at(3))])
            _ = try await catchUpProjections(client: store.client, store: store, logger: logger)
            clock.advance(days: 8)
            #expect(try await restarted.sweep(catalog: catalog) == 1)
            #expect(try await restarted.sweep(catalog: catalog) == 0)
            #expect(try await CaseRepository<Complaint>(store: store).load("C-LATE").state?.area == "P-1")
        }
    }
}
