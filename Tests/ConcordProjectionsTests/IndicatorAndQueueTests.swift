import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import PostgresNIO
import Testing

/// A hand-made log whose every figure is worked out by hand below. Service levels (Workload.reference): CCT
/// acknowledge 2 days, resolve 10, feedback 7; PENSION 3, 15, 8; HEALTH 4, 20, 9. Offices: OFF-1 in C-111 and
/// OFF-2 in C-121 (province P-1), OFF-3 in C-211 (province P-2).
enum Fixture {
    static func load(_ store: EventStore) async throws {
        try await Workload.appendReference(to: store, at: Day.start)
        let cases = Cases(store: store)
        // C1: acknowledged and resolved in time (4 days), complainant told: loop closed.
        try await cases.complaint(
            "C-1",
            [
                .lodge(Cases.lodgement(programme: "CCT", at: Day.at(0))), .acknowledge(at: Day.at(1)),
                .assign(programme: "CCT", officer: nil, at: Day.at(1)),
                .resolve(outcome: .upheld, actionsTaken: "Paid", at: Day.at(4)),
                .notifyComplainant(method: .phone, at: Day.at(5)),
            ])
        // C2: acknowledged late (day 3, due 2), resolved late (day 12, due 10); not told yet (due day 19).
        try await cases.complaint(
            "C-2",
            [
                .lodge(Cases.lodgement(programme: "CCT", channel: .sms, office: 1, at: Day.at(0))),
                .acknowledge(at: Day.at(3)), .assign(programme: "CCT", officer: nil, at: Day.at(3)),
                .resolve(outcome: .partlyUpheld, actionsTaken: "Part paid", at: Day.at(12)),
            ])
        // C3: lodged in P-2, never acknowledged (due day 5).
        try await cases.complaint(
            "C-3", [.lodge(Cases.lodgement(programme: "PENSION", category: .exclusion, office: 2, at: Day.at(2)))])
        // A1: overturned and told. A2: upheld on day 5, not told (due day 13).
        try await cases.appeal(
            "A-1",
            [
                .lodge(Cases.appeal(programme: "CCT", at: Day.at(1))),
                .assign(level: .district, reviewer: nil, at: Day.at(2)),
                .decide(decision: .overturned, reasoning: "r", at: Day.at(3)),
                .notifyAppellant(method: .phone, at: Day.at(4)),
            ])
        try await cases.appeal(
            "A-2",
            [
                .lodge(Cases.appeal(programme: "PENSION", at: Day.at(1))),
                .assign(level: .district, reviewer: nil, at: Day.at(2)),
                .decide(decision: .upheld, reasoning: "r", at: Day.at(5)),
            ])
        // R1: served, feedback on day 4, acknowledged: loop closed. R2: declined, waits for the source (no due time).
        try await cases.referral(
            "R-1",
            [
                .create(Cases.referral(at: Day.at(0))), .acknowledge(at: Day.at(1)), .accept(at: Day.at(1)),
                .startService(at: Day.at(2)), .complete(outcome: .delivered, at: Day.at(3)),
                .postFeedback(Referral.CounterReferral(outcome: "Served", servicesGiven: ["care"]), at: Day.at(4)),
                .acknowledgeFeedback(at: Day.at(5)),
            ])
        try await cases.referral(
            "R-2",
            [
                .create(Cases.referral(source: "OFF-2", at: Day.at(0))), .acknowledge(at: Day.at(1)),
                .decline(reason: .lackOfCapacity, explanation: nil, at: Day.at(2)),
            ])
        // Outside the period [day 0, day 10): counted in open_now only.
        try await cases.complaint("C-LATER", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(20)))])
    }
}

@Suite(.timeLimit(.minutes(2))) struct IndicatorAndQueueTests {
    @Test func indicatorsMatchTheHandComputedFigures() async throws {
        try await withStore { store, _ in
            try await Fixture.load(store)
            _ = try await catchUpProjections(client: store.client, store: store, logger: TestDatabases.logger)
            func compute(
                _ grouping: IndicatorGrouping, scope: CaseScope = .everything
            ) async throws -> [String: [String: Indicators.Value]] {
                let indicators = try await Indicators.compute(
                    client: store.client, scope: scope, grouping: grouping, from: Day.at(0), to: Day.at(10),
                    now: Day.at(30), logger: TestDatabases.logger)
                return Dictionary(
                    uniqueKeysWithValues: indicators.rows.map { row in
                        guard case .text(let group)? = row["group"] else { return ("", row) }
                        return (group, row)
                    })
            }
            let total = try #require(try await compute(.total)["all"])
            let expected: [String: Indicators.Value] = [
                "group": .text("all"), "complaints_lodged": .count(3), "complaints_acknowledged_in_time": .count(1),
                "complaints_resolved": .count(2), "complaints_resolved_in_time": .count(1),
                "share_resolved_within_service_level": .decimal(0.5), "median_days_to_resolution": .decimal(8),
                "p90_days_to_resolution": .decimal(11.2), "appeals_lodged": .count(2), "appeals_overturned": .count(1),
                "referrals_sent": .count(2), "referrals_accepted": .count(1), "referrals_declined": .count(1),
                "referrals_completed": .count(1), "referrals_delivered": .count(1),
                "referral_success_rate": .decimal(1), "cases_opened": .count(7), "loops_closed": .count(3),
                "loop_closure_rate": .decimal(0.43), "median_days_to_counter_referral": .decimal(4),
                // C-2 (told due day 19), C-3 (acknowledgement due day 5), A-2 (told due day 13) are overdue on day
                // 30; R-2 waits for its source with no due time; C-LATER (due day 22) is open and overdue.
                "open_now": .count(5), "overdue_now": .count(4),
            ]
            #expect(total == expected)

            let byProvince = try await compute(.area(.province))
            #expect(byProvince["P-2"]?["complaints_lodged"] == .count(1))
            #expect(byProvince["P-2"]?["overdue_now"] == .count(1))
            #expect(byProvince["P-1"]?["cases_opened"] == .count(6))
            let byProgramme = try await compute(.programme)
            #expect(byProgramme["CCT"]?["complaints_lodged"] == .count(2))
            #expect(byProgramme["CCT"]?["appeals_overturned"] == .count(1))
            #expect(byProgramme["HEALTH"]?["referrals_sent"] == .count(2))
            let byChannel = try await compute(.channel)
            #expect(byChannel["sms"]?["complaints_lodged"] == .count(1))
            // A coordinator of P-2 sees only its province's figures.
            let coordinator = try await compute(.total, scope: CaseScope(area: "P-2", sensitive: false))
            #expect(coordinator["all"]?["cases_opened"] == .count(1))

            let csv = try await Indicators.compute(
                client: store.client, scope: .everything, grouping: .programme, from: Day.at(0), to: Day.at(10),
                now: Day.at(30), logger: TestDatabases.logger
            ).csv
            let lines = csv.split(separator: "\r\n")
            #expect(lines.first == Substring(Indicators.columns.joined(separator: ",")))
            #expect(lines.count == 4, "header, CCT, HEALTH, PENSION")
            #expect(
                lines.dropFirst().first?.hasPrefix("CCT,2,1,2,1,0.5,8.0,11.2,1,1,0,0,0,0,0,,3,2,") == true, "\(csv)")
        }
    }

    @Test func everyQueueFilterNarrowsTheQueue() async throws {
        try await withStore { store, _ in
            try await Fixture.load(store)
            let cases = Cases(store: store)
            try await cases.complaint(
                "C-SEA", [.lodge(Cases.lodgement(programme: "CCT", category: .sexualExploitationAbuse, at: Day.at(1)))])
            try await cases.referral("R-CCT", [.create(Cases.referral(receiver: "CCT", at: Day.at(6)))])
            _ = try await catchUpProjections(client: store.client, store: store, logger: TestDatabases.logger)
            let queries = ProjectionQueries(client: store.client, logger: TestDatabases.logger)
            func queue(
                _ change: (inout CaseFilter) -> Void = { _ in }, scope: CaseScope = CaseScope(sensitive: false),
                now: Timestamp = Day.at(21)
            ) async throws -> [String] {
                var filter = CaseFilter()
                filter.waitingOn = "CCT"
                change(&filter)
                return try await queries.cases(
                    scope: scope, filter: filter, order: .due, after: nil, limit: 50, now: now
                )
                .items.map(\.id)
            }
            // CCT's queue at day 21: C-LATER (acknowledge by day 22) and R-CCT (acknowledge by day 10); C-2 waits for
            // its office, C-1 is closed; the sensitive complaint only for the focal point.
            #expect(try await queue() == ["R-CCT", "C-LATER"])
            #expect(try await queue(scope: CaseScope(sensitive: true)) == ["C-SEA", "R-CCT", "C-LATER"])
            #expect(try await queue { $0.kind = "complaint" } == ["C-LATER"])
            #expect(try await queue { $0.status = "created" } == ["R-CCT"])
            #expect(try await queue { $0.overdue = true } == ["R-CCT"])
            #expect(try await queue { $0.overdue = false } == ["C-LATER"])
            #expect(try await queue { $0.category = "payment_delay" } == ["C-LATER"])
            #expect(try await queue { $0.area = "D-11" } == ["R-CCT", "C-LATER"], "R-CCT's source office is in D-11")
            #expect(try await queue { $0.area = "P-2" } == [])
            // Paging: one at a time, in the same order, nothing lost or repeated.
            var filter = CaseFilter()
            filter.waitingOn = "CCT"
            var seen: [String] = []
            var cursor: PageCursor? = nil
            repeat {
                let page = try await queries.cases(
                    scope: CaseScope(sensitive: true), filter: filter, order: .due, after: cursor, limit: 1,
                    now: Day.at(21))
                seen += page.items.map(\.id)
                cursor = page.next
            } while cursor != nil
            #expect(seen == ["C-SEA", "R-CCT", "C-LATER"])

            // An office's cases, newest first; the counter-referral waiting for it; loops oldest first.
            var office = CaseFilter()
            office.feedbackWaiting = false
            let offices = try await queries.cases(
                scope: CaseScope(office: "OFF-2", sensitive: false), filter: office, order: .newest, after: nil,
                limit: 10, now: Day.at(21))
            #expect(offices.items.map(\.id) == ["R-2", "C-2"])
            var loops = CaseFilter()
            loops.loop = "overdue"
            let overdue = try await queries.cases(
                scope: .everything, filter: loops, order: .loopAge, after: nil, limit: 10, now: Day.at(30))
            #expect(Set(overdue.items.map(\.id)) == ["C-2", "C-3", "A-2", "C-LATER", "C-SEA", "R-CCT"])
            loops.loop = "awaiting_feedback"
            let awaiting = try await queries.cases(
                scope: .everything, filter: loops, order: .loopAge, after: nil, limit: 10, now: Day.at(13))
            #expect(Set(awaiting.items.map(\.id)) == ["C-2", "A-2"], "A-2 is due on day 13 exactly: not yet overdue")
        }
    }
}
