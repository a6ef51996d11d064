import ConcordCore
import Testing

/// Loop status, due times and overdue escalation: pure functions of a state, the reference data and a time.
@Suite struct LoopTests {
    /// CCT: acknowledge 2 days, resolve 14, feedback 10 (every category); it escalates overdue complaints.
    static let catalog: ReferenceCatalog = {
        var catalog = ReferenceCatalog()
        var cct = ReferenceTests.programme("CCT")
        cct.escalatesWhenOverdue = true
        var health = ReferenceTests.programme("HEALTH")
        health.serviceLevels[.other] = ServiceLevel(daysToAcknowledge: 1, daysToResolve: 20, daysToGiveFeedback: 5)
        let at = Fixture.time(0)
        for event: ReferenceEvent in [
            .areaDefined(Area(code: "TM", name: "Tamora", level: .country, parent: nil), at: at),
            .areaDefined(Area(code: "P-01", name: "Northern", level: .province, parent: "TM"), at: at),
            .areaDefined(Area(code: "D-01", name: "Kiroba", level: .district, parent: "P-01"), at: at),
            .programmeDefined(cct, at: at), .programmeDefined(health, at: at),
            .officeDefined(Office(code: "OFF-001", name: "Kiroba office", area: "D-01", mobile: false), at: at),
            .serviceTypeDefined(ServiceType(code: "NUTRITION", name: "Nutrition", programme: "HEALTH"), at: at),
        ] {
            catalog.apply(event)
        }
        return catalog
    }()

    static func days(_ days: Int64) -> Timestamp { Fixture.time(days * 24 * 60) }

    static func complaint(_ commands: [Complaint.Command]) throws -> Complaint.State {
        try #require(try Complaint.run([.lodge(Fixture.complaint(programme: "CCT"))] + commands).state)
    }

    @Test func aComplaintsLoopThroughItsLife() throws {
        let lodged = try Self.complaint([])
        var summary = Complaint.summary(lodged, id: "C-1", catalog: Self.catalog)
        #expect(
            summary.loop == .open
                && summary.pending == Pending(.acknowledge, by: Party(.programme, "CCT"), dueAt: Self.days(2)))
        #expect(summary.loopStatus(at: Self.days(1)) == .open)
        #expect(summary.loopStatus(at: Self.days(3)) == .overdue)
        #expect(
            summary.missingStep { Self.catalog.name(of: $0) } == "acknowledgement from Cash transfer due "
                + String(Self.days(2).rfc3339.prefix(10)))

        let assigned = try Self.complaint([
            .acknowledge(at: Self.days(1)), .assign(programme: "CCT", officer: nil, at: Self.days(1)),
        ])
        summary = Complaint.summary(assigned, id: "C-1", catalog: Self.catalog)
        #expect(summary.pending == Pending(.resolve, by: Party(.programme, "CCT"), dueAt: Self.days(14)))
        #expect(summary.acknowledgedAt == Self.days(1) && summary.acknowledgeDueAt == Self.days(2))

        let resolved = try Self.complaint([
            .acknowledge(at: Self.days(1)), .assign(programme: "CCT", officer: nil, at: Self.days(1)),
            .resolve(outcome: .upheld, actionsTaken: "Paid", at: Self.days(5)),
        ])
        summary = Complaint.summary(resolved, id: "C-1", catalog: Self.catalog)
        #expect(summary.loop == .awaitingFeedback && summary.loopSince == Self.days(5))
        #expect(summary.pending == Pending(.notify, by: Party(.office, "OFF-001"), dueAt: Self.days(15)))

        let told = try Self.complaint([
            .acknowledge(at: Self.days(1)), .assign(programme: "CCT", officer: nil, at: Self.days(1)),
            .resolve(outcome: .upheld, actionsTaken: "Paid", at: Self.days(5)),
            .notifyComplainant(method: .sms, at: Self.days(6)),
        ])
        summary = Complaint.summary(told, id: "C-1", catalog: Self.catalog)
        #expect(summary.loop == .closed && summary.loopSince == Self.days(6) && summary.pending == nil)
        #expect(summary.loopStatus(at: Self.days(100)) == .closed, "a closed loop is never overdue")
        #expect(summary.answeredAt == Self.days(5) && summary.loopClosedAt == Self.days(6))

        let withdrawn = try Self.complaint([.withdraw(reason: nil, at: Self.days(3))])
        summary = Complaint.summary(withdrawn, id: "C-1", catalog: Self.catalog)
        #expect(summary.loop == .closed && summary.loopSince == Self.days(3) && summary.loopClosedAt == nil)
    }

    @Test func aComplaintWithoutAProgrammeWaitsForItsAreaUnderTheStrictestLevel() throws {
        var catalog = Self.catalog
        var strict = ReferenceTests.programme("PWP")
        strict.serviceLevels[.paymentDelay] = ServiceLevel(
            daysToAcknowledge: 1, daysToResolve: 7, daysToGiveFeedback: 3)
        catalog.apply(.programmeDefined(strict, at: Fixture.time(0)))
        let state = try #require(try Complaint.run([.lodge(Fixture.complaint(programme: nil))]).state)
        let summary = Complaint.summary(state, id: "C-2", catalog: catalog)
        #expect(summary.pending == Pending(.acknowledge, by: Party(.area, "D-01"), dueAt: Self.days(1)))
    }

    @Test func aReferralsLoopClosesWhenTheSourceAcknowledgesTheFeedback() throws {
        var state: Referral.State? = nil
        func run(_ command: Referral.Command) throws -> CaseSummary {
            state = try Referral.run([command], from: state).state
            return Referral.summary(try #require(state), id: "R-1", catalog: Self.catalog)
        }
        let health = Party(.programme, "HEALTH")
        var summary = try run(.create(Fixture.referral(receiver: "NUTRITION")))
        #expect(summary.pending == Pending(.acknowledge, by: Party(.programme, "NUTRITION"), dueAt: Self.days(1)))
        state = nil
        summary = try run(.create(Fixture.referral()))
        #expect(summary.pending == Pending(.acknowledge, by: health, dueAt: Self.days(1)) && summary.loop == .open)
        summary = try run(.acknowledge(at: Self.days(1)))
        #expect(summary.pending == Pending(.accept, by: health, dueAt: Self.days(5)))
        summary = try run(.accept(at: Self.days(1)))
        #expect(summary.pending?.step == .deliver && summary.outcome == "accepted")
        summary = try run(.startService(at: Self.days(2)))
        #expect(summary.pending?.step == .deliver && summary.status == "in_service")
        summary = try run(.complete(outcome: .delivered, at: Self.days(3)))
        #expect(
            summary.loop == .awaitingFeedback
                && summary.pending == Pending(.giveFeedback, by: health, dueAt: Self.days(5)))
        #expect(summary.loopStatus(at: Self.days(6)) == .overdue)
        summary = try run(
            .postFeedback(Referral.CounterReferral(outcome: "Assessed", servicesGiven: ["x"]), at: Self.days(4)))
        #expect(
            summary.loop == .awaitingFeedback
                && summary.pending == Pending(.acknowledgeFeedback, by: Party(.programme, "CCT"), dueAt: nil))
        #expect(summary.loopStatus(at: Self.days(60)) == .awaitingFeedback, "no service level times the source")
        summary = try run(.acknowledgeFeedback(at: Self.days(4)))
        #expect(summary.loop == .closed && summary.loopClosedAt == Self.days(4) && summary.feedbackAt == Self.days(4))
    }

    @Test func anAppealWaitsForTheDecisionThenForTheAppellantToBeTold() throws {
        var state = try #require(try Appeal.run([.lodge(Fixture.appeal())]).state)
        var summary = Appeal.summary(state, id: "A-1", catalog: Self.catalog)
        #expect(summary.pending == Pending(.decide, by: Party(.programme, "CCT"), dueAt: Self.days(14)))
        state = try #require(
            try Appeal.run(
                [
                    .assign(level: .district, reviewer: nil, at: Self.days(1)),
                    .decide(decision: .overturned, reasoning: "r", at: Self.days(2)),
                ],
                from: state
            ).state)
        summary = Appeal.summary(state, id: "A-1", catalog: Self.catalog)
        #expect(summary.loop == .awaitingFeedback && summary.outcome == "overturned")
        #expect(summary.pending == Pending(.notify, by: Party(.office, "OFF-001"), dueAt: Self.days(12)))
    }

    @Test func anOverdueComplaintIsEscalatedOnceForEachDueTime() throws {
        let lodged = try Self.complaint([])
        #expect(Complaint.overdueEscalation(lodged, catalog: Self.catalog, now: Self.days(1)) == nil, "not yet due")
        let event = try #require(Complaint.overdueEscalation(lodged, catalog: Self.catalog, now: Self.days(3)))
        #expect(
            event
                == .escalatedForOverdue(
                    fromArea: "D-01", toArea: "P-01", level: 1, step: .acknowledge, dueAt: Self.days(2),
                    at: Self.days(3)))
        #expect(try event.roundTripped() == event)
        let escalated = try #require(Complaint.evolve(lodged, event))
        #expect(escalated.area == "P-01" && escalated.escalationLevel == 1 && escalated.status == .lodged)
        #expect(
            Complaint.overdueEscalation(escalated, catalog: Self.catalog, now: Self.days(4)) == nil, "once per due time"
        )
        // A new due time (resolution) past due escalates again, one more level up.
        let acknowledged = try #require(Complaint.evolve(escalated, .acknowledged(at: Self.days(5))))
        let again = try #require(Complaint.overdueEscalation(acknowledged, catalog: Self.catalog, now: Self.days(15)))
        #expect(
            again
                == .escalatedForOverdue(
                    fromArea: "P-01", toArea: "TM", level: 2, step: .resolve, dueAt: Self.days(14), at: Self.days(15)))
    }

    @Test func onlyProgrammesThatSaySoEscalateAndNothingGoesAboveTheTop() throws {
        var catalog = Self.catalog
        var quiet = ReferenceTests.programme("CCT")
        quiet.escalatesWhenOverdue = false
        catalog.apply(.programmeDefined(quiet, at: Fixture.time(0)))
        #expect(Complaint.overdueEscalation(try Self.complaint([]), catalog: catalog, now: Self.days(30)) == nil)
        var atTop = try Self.complaint([])
        atTop.area = "TM"
        #expect(Complaint.overdueEscalation(atTop, catalog: Self.catalog, now: Self.days(30)) == nil)
        let resolved = try Self.complaint([
            .acknowledge(at: Self.days(1)), .assign(programme: "CCT", officer: nil, at: Self.days(1)),
            .resolve(outcome: .upheld, actionsTaken: "Paid", at: Self.days(5)),
        ])
        #expect(
            Complaint.overdueEscalation(resolved, catalog: Self.catalog, now: Self.days(30)) == nil,
            "telling the complainant is the office's step, not the programme's")
    }

    @Test func aProgrammeDefinitionKeepsItsEscalationSettingThroughTheLog() throws {
        var programme = ReferenceTests.programme("CCT")
        programme.escalatesWhenOverdue = true
        let event = ReferenceEvent.programmeDefined(programme, at: Fixture.time(0))
        #expect(try event.roundTripped() == event)
        programme.escalatesWhenOverdue = false
        #expect(ReferenceEvent.programmeDefined(programme, at: Fixture.time(0)).payload["escalate_when_overdue"] == nil)
    }
}
