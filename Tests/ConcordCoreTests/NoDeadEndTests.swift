import ConcordCore
import Foundation
import Testing

/// Invariant 8 (no dead ends), derived from the state tables and the access policy rather than from a hand list:
/// every state a case can reach is explored by sending, in every state, every command its state table allows (with
/// representative values); then, in every reachable state whose loop is not closed, some principal of the demo
/// reference data (not an admin, not an auditor) that can read the case can send a command the state machine
/// accepts and that changes its status, and such moves work it to its end: the person told, the counter-referral
/// acknowledged (withdrawing or cancelling does not count).
@Suite struct NoDeadEndTests {
    static let at = Timestamp(microsecondsSinceEpoch: 1_795_600_000_000_000)

    static let catalog: ReferenceCatalog = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/demo-reference.json")
        guard let data = try? Data(contentsOf: url),
            let file = try? JSONDecoder().decode(ReferenceFile.self, from: data)
        else { return ReferenceCatalog() }
        return ReferenceCatalog.replay(file.definitions(at: Self.at))
    }()

    /// Every scoped principal the reference data allows: each office, each programme and each service type as a
    /// receiver (focal point or not), each area's coordinator.
    static let principals: [Principal] = {
        var principals: [Principal] = []
        for office in Self.catalog.offices.keys.sorted() {
            principals.append(Principal(tokenID: UUID(), role: .office, scope: office, label: nil))
        }
        for code in Self.catalog.programmes.keys.sorted() + Self.catalog.serviceTypes.keys.sorted() {
            for focal in [false, true] {
                principals.append(
                    Principal(tokenID: UUID(), role: .programme, scope: code, label: nil, focalPoint: focal))
            }
        }
        for area in Self.catalog.areas.keys.sorted() {
            principals.append(Principal(tokenID: UUID(), role: .coordinator, scope: area, label: nil))
        }
        return principals
    }()

    static let person = Identity.person(PersonDetails(name: "Amina Diallo", phone: "+221770000000"))

    // MARK: Representative commands

    static func complaintLodgement(programme: String?, sensitive: Bool) -> Complaint.Lodgement {
        Complaint.Lodgement(
            channel: .walkIn, programme: programme, category: .paymentDelay, description: "Late payment.",
            area: "D-01", office: "OFF-001", complainant: Self.person, contactPreference: .sms, sensitive: sensitive,
            at: Self.at)
    }

    static func complaint(_ name: Complaint.CommandName, _ state: Complaint.State) -> [Complaint.Command] {
        switch name {
        case .lodge: []
        case .acknowledge: [.acknowledge(at: Self.at)]
        case .assign: ["CCT", "PENSION"].map { .assign(programme: $0, officer: nil, at: Self.at) }
        case .transfer: ["CCT", "PENSION"].map { .transfer(toProgramme: $0, reason: "Theirs.", at: Self.at) }
        case .escalate:
            Self.catalog.levelUp(from: state.area).map { [.escalate(toArea: $0.code, reason: "Up.", at: Self.at)] }
                ?? []
        case .addNote: [.addNote(text: "A note.", at: Self.at)]
        case .recordFinding: [.recordFinding(text: "Found.", at: Self.at)]
        case .resolve: [.resolve(outcome: .upheld, actionsTaken: "Paid.", at: Self.at)]
        case .notifyComplainant: [.notifyComplainant(method: .sms, at: Self.at)]
        case .close: [.close(satisfaction: .satisfied, at: Self.at), .close(satisfaction: .notSatisfied, at: Self.at)]
        case .reopen: [.reopen(reason: "Not paid.", withinAppealWindow: false, at: Self.at)]
        case .withdraw: [.withdraw(reason: nil, at: Self.at)]
        case .rejectOutOfScope: [.rejectOutOfScope(redirectTo: "LEGAL-AID", reason: nil, at: Self.at)]
        }
    }

    static let appealLodgement = Appeal.Lodgement(
        subject: .eligibilityDecision, grounds: "Wrongly scored.", programme: "CCT", area: "D-01", office: "OFF-001",
        appellant: Self.person, contactPreference: .sms, at: Self.at)

    static func appeal(_ name: Appeal.CommandName, _ state: Appeal.State) -> [Appeal.Command] {
        switch name {
        case .lodge: []
        case .acknowledge: [.acknowledge(at: Self.at)]
        case .addNote: [.addNote(text: "A note.", at: Self.at)]
        case .withdraw: [.withdraw(reason: nil, at: Self.at)]
        case .assign: [.district, .province].map { .assign(level: $0, reviewer: nil, at: Self.at) }
        case .decide: [.decide(decision: .upheld, reasoning: "Reviewed.", at: Self.at)]
        case .notifyAppellant: [.notifyAppellant(method: .sms, at: Self.at)]
        case .close: [.close(at: Self.at)]
        }
    }

    static func referralRequest(source: String, receiver: String) -> Referral.Request {
        Referral.Request(
            source: source, receiver: receiver,
            person: .clear(Referral.ReferredPerson(kind: .household, reference: "HH-1")),
            reason: "Needs care.", urgency: .routine, referralType: "health", at: Self.at)
    }

    static func referral(_ name: Referral.CommandName, _ state: Referral.State) -> [Referral.Command] {
        switch name {
        case .create: []
        case .acknowledge: [.acknowledge(at: Self.at)]
        case .accept: [.accept(at: Self.at)]
        case .decline: [.decline(reason: .lackOfCapacity, explanation: nil, at: Self.at)]
        case .redirect: [.redirect(newReferralID: "R-NEXT", newReceiver: "LEGAL-AID", at: Self.at)]
        case .startService: [.startService(at: Self.at)]
        case .complete: [.complete(outcome: .delivered, at: Self.at)]
        case .postFeedback:
            [.postFeedback(Referral.CounterReferral(outcome: "Served.", servicesGiven: ["care"]), at: Self.at)]
        case .acknowledgeFeedback: [.acknowledgeFeedback(at: Self.at)]
        case .cancel: [.cancel(reason: "Not needed.", at: Self.at)]
        }
    }

    // MARK: The tests

    @Test func everyComplaintCanMoveOnToItsClosedLoop() throws {
        var starts: [Complaint.State] = []
        for programme in [nil, "CCT"] {
            for sensitive in [false, true] {
                let lodged = Complaint.decide(
                    .lodge(Self.complaintLodgement(programme: programme, sensitive: sensitive)), state: nil)
                if case .success(let events) = lodged, let state = Complaint.replay(events) {
                    starts.append(state)
                } else {
                    // The one combination refused: nobody but its programme's focal point could read it.
                    #expect(programme == nil && sensitive, "lodging refused: \(lodged)")
                }
            }
        }
        #expect(starts.count == 3)
        try Self.check(
            Complaint.self, from: starts, statuses: Complaint.Status.allCases.map(\.rawValue), samples: Self.complaint)
    }

    @Test func everyAppealCanMoveOnToItsClosedLoop() throws {
        // An ordinary appeal, and one that follows from a sensitive complaint (focal points only).
        var sensitive = Self.appealLodgement
        sensitive.sensitive = true
        let starts = try [Self.appealLodgement, sensitive].map { lodgement in
            try #require(Appeal.replay(try Appeal.decide(.lodge(lodgement), state: nil).get()))
        }
        try Self.check(
            Appeal.self, from: starts, statuses: Appeal.Status.allCases.map(\.rawValue), samples: Self.appeal)
    }

    @Test func everyReferralCanMoveOnToItsClosedLoop() throws {
        // To a programme, to a service type a programme owns, to one without a programme; from a programme and an
        // office.
        var starts: [Referral.State] = []
        // Sensitive too: made from a sensitive complaint, read and worked by the focal points of both ends.
        for (source, receiver) in [("CCT", "HEALTH"), ("OFF-001", "NUTRITION"), ("CCT", "GBV-SUPPORT")] {
            for sensitive in [false, true] {
                var request = Self.referralRequest(source: source, receiver: receiver)
                request.sensitive = sensitive
                let events = try Referral.decide(.create(request), state: nil).get()
                starts.append(try #require(Referral.replay(events)))
            }
        }
        try Self.check(
            Referral.self, from: starts, statuses: Referral.Status.allCases.map(\.rawValue), samples: Self.referral)
    }

    // MARK: Exploration

    /// One accepted move: who sent which command, and the state after it.
    struct Move<M: CaseKind> {
        var principal: Principal?
        var command: M.Command
        var next: M.State
    }

    /// The moves from `state` that the pipeline would accept from `principal` (nil: any sender, for exploring),
    /// completed and checked against the reference data as `CaseCommands` does.
    static func moves<M: CaseKind>(
        _ kind: M.Type, from state: M.State, by principal: Principal?,
        samples: (M.CommandName, M.State) -> [M.Command]
    ) -> [Move<M>] {
        let parties = M.parties(state)
        if let principal, !AccessPolicy.canRead(principal, parties, catalog: Self.catalog) { return [] }
        var moves: [Move<M>] = []
        for name in M.allowedCommands(in: state) {
            if let principal,
                !AccessPolicy.canAct(
                    principal, command: name.rawValue, side: M.side(of: name), parties, catalog: Self.catalog)
            {
                continue
            }
            for sample in samples(name, state) {
                let command = M.completing(sample, state: state, catalog: Self.catalog)
                guard M.referenceProblems(in: command, state: state, catalog: Self.catalog).isEmpty,
                    case .success(let events) = M.decide(command, state: state),
                    let next = events.reduce(Optional(state), M.evolve)
                else { continue }
                moves.append(Move(principal: principal, command: command, next: next))
            }
        }
        return moves
    }

    static func loopClosed<M: CaseKind>(_ kind: M.Type, _ state: M.State) -> Bool {
        M.summary(state, id: "X-1", catalog: Self.catalog).loop == .closed
    }

    /// Whether the case was worked to its end: the person told (a complaint, an appeal), the counter-referral
    /// acknowledged, or a declined referral handed on to the new referral that replaces it (checked from its own
    /// start). A withdrawal, a cancellation or an out-of-scope refusal closes a case too, but is no way to work it.
    static func worked<M: CaseKind>(_ kind: M.Type, _ state: M.State) -> Bool {
        M.summary(state, id: "X-1", catalog: Self.catalog).loopClosedAt != nil
            || M.stateName(state) == Referral.Status.redirected.rawValue
    }

    /// Whether a move changes something access or progress depends on: the status or the parties (a note or a
    /// finding changes neither, so exploring it would only grow counters).
    static func matters<M: CaseKind>(_ kind: M.Type, _ state: M.State, _ next: M.State) -> Bool {
        M.stateName(next) != M.stateName(state) || M.parties(next) != M.parties(state)
    }

    /// Explores every state reachable from `starts` (bounded in depth: reopening and escalating grow counters), then
    /// checks each one whose loop is open for a progress move by a principal, and that progress moves reach a
    /// closed loop. Every status in `statuses` (the kind's whole table) must have been reached.
    static func check<M: CaseKind>(
        _ kind: M.Type, from starts: [M.State], statuses all: [String],
        samples: (M.CommandName, M.State) -> [M.Command]
    ) throws where M.State: Hashable {
        var reachable = Set(starts)
        var frontier = starts
        for _ in 0..<10 {
            frontier = frontier.flatMap { state in
                Self.moves(M.self, from: state, by: nil, samples: samples).map(\.next).filter {
                    Self.matters(M.self, state, $0)
                }
            }.filter { reachable.insert($0).inserted }
        }
        #expect(Set(reachable.map { M.stateName($0) }) == Set(all), "statuses never reached")
        let open = reachable.filter { !Self.loopClosed(M.self, $0) }
        #expect(open.count > 3, "the exploration found too little: \(open.count) open states")
        for state in open {
            let progress = Self.principals.flatMap { Self.moves(M.self, from: state, by: $0, samples: samples) }
                .filter { M.stateName($0.next) != M.stateName(state) }
            #expect(
                !progress.isEmpty,
                "dead end: no principal that reads a \(M.streamType) in \(M.stateName(state)) can move it on: \(state)")
            let closes = Self.closesEventually(M.self, from: state, samples: samples)
            #expect(
                closes,
                "no principal's moves work a \(M.streamType) from \(M.stateName(state)) to its end: \(state)")
        }
    }

    /// Whether following principals' progress moves (any principal, any accepted command that changes the status)
    /// from `state` works the case to its end (`worked`) within a few steps.
    static func closesEventually<M: CaseKind>(
        _ kind: M.Type, from state: M.State, samples: (M.CommandName, M.State) -> [M.Command]
    ) -> Bool where M.State: Hashable {
        var seen: Set<M.State> = [state]
        var frontier = [state]
        for _ in 0..<8 {
            var next: [M.State] = []
            for current in frontier {
                for principal in Self.principals {
                    for move in Self.moves(M.self, from: current, by: principal, samples: samples)
                    where M.stateName(move.next) != M.stateName(current) && seen.insert(move.next).inserted {
                        if Self.worked(M.self, move.next) { return true }
                        next.append(move.next)
                    }
                }
            }
            frontier = next
        }
        return false
    }
}
