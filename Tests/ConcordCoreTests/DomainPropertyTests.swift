import ConcordCore
import ConcordTestSupport
import Testing

/// Random command sequences against each state machine: valid and invalid commands, valid and invalid values.
@Suite struct DomainPropertyTests {
    @Test func complaintSequences() {
        let (failures, seen) = Exercise<Complaint>.run(
            seed: 2026_11_25, sequences: 1_200, command: RandomCommand.complaint, invariant: Invariant.complaint)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        // `EscalatedForOverdue` comes from the service's overdue sweep, not from a command (LoopTests).
        // Deliveries come from the outbox's sender (OutboxTests).
        let commanded = Complaint.EventKind.allCases.filter {
            $0 != .escalatedForOverdue && !Delivery.eventTypes.contains($0.rawValue)
        }
        #expect(seen == Set(commanded.map(\.rawValue)), "the sequences should reach every event")
    }

    @Test func appealSequences() {
        let (failures, seen) = Exercise<Appeal>.run(
            seed: 1_789, sequences: 1_200, command: RandomCommand.appeal, invariant: Invariant.appeal)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(seen == Set(Appeal.EventKind.allCases.map(\.rawValue)), "the sequences should reach every event")
    }

    @Test func referralSequences() {
        let (failures, seen) = Exercise<Referral>.run(
            seed: 6_011, sequences: 1_200, command: RandomCommand.referral, invariant: Invariant.referral)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(
            seen == Set(Referral.EventKind.allCases.map(\.rawValue)).subtracting(Delivery.eventTypes),
            "the sequences should reach every event")
    }
}

/// Drives one machine with random sequences and collects broken properties as messages.
enum Exercise<M: StateMachine> {
    typealias Generate = (inout SeededRandom, M.CommandName, M.State?, Timestamp) -> M.Command

    /// The broken properties, and the event types the sequences produced (to show they went everywhere).
    static func run(
        seed: UInt64, sequences: Int, command: Generate, invariant: (M.State) -> String?
    ) -> (failures: [String], seen: Set<String>) {
        var rng = SeededRandom(seed: seed)
        var failures: [String] = []
        var seen: Set<String> = []
        for sequence in 0..<sequences where failures.count < 10 {
            if let failure = Self.sequence(&rng, seen: &seen, command: command, invariant: invariant) {
                failures.append("seed \(seed) sequence \(sequence): \(failure)")
            }
        }
        return (failures, seen)
    }

    /// One sequence of up to 30 commands; the first broken property, if any.
    static func sequence(
        _ rng: inout SeededRandom, seen: inout Set<String>, command: Generate, invariant: (M.State) -> String?
    ) -> String? {
        var state: M.State? = nil
        var events: [M.Event] = []
        var minutes: Int64 = 0
        for _ in 0..<Int.random(in: 1...30, using: &rng) {
            let allowed = M.allowedCommands(in: state)
            // Mostly allowed commands, so that sequences get deep; sometimes any command, to exercise refusals.
            let name =
                !allowed.isEmpty && Int.random(in: 0..<4, using: &rng) > 0
                ? allowed.randomElement(using: &rng) ?? allowed[0]
                : M.CommandName.allCases.randomElement(using: &rng) ?? allowed[0]
            minutes += Int64.random(in: 0...600, using: &rng)
            let next = command(&rng, name, state, Fixture.time(minutes))
            let result = M.decide(next, state: state)
            guard M.decide(next, state: state) == result else { return "decide is not deterministic for \(next)" }
            switch result {
            case .failure(let rejection):
                if let problem = Self.checkRefusal(rejection, of: next, in: state) { return problem }
            case .success(let produced):
                guard StateTable.allowed(M.self, in: state)?.contains(M.name(of: next).rawValue) == true,
                    !produced.isEmpty
                else {
                    return "\(next) accepted in \(M.stateName(state)) with \(produced.count) events"
                }
                state = produced.reduce(state, M.evolve)
                events += produced
                guard let current = state else { return "\(next) left no state" }
                if let problem = invariant(current) { return "after \(next): \(problem)" }
                for event in produced {
                    seen.insert(event.eventType)
                    guard (try? event.roundTripped()) == event else { return "\(event.eventType) does not round-trip" }
                }
                // What a reader of the log rebuilds: the events read back from their canonical bytes.
                let stored = events.compactMap { try? $0.roundTripped() }
                guard stored.count == events.count, M.replay(stored) == current else {
                    return "the state rebuilt from the stored events differs after \(next)"
                }
            }
        }
        return nil
    }

    /// A refusal names the current state and its allowed commands; a command the state allows is refused only
    /// for a bad field, a command it does not allow only for the state.
    static func checkRefusal(_ rejection: Rejection, of command: M.Command, in state: M.State?) -> String? {
        // The documented table is the oracle, not `allowedCommands` (which the refusal is built from).
        guard let allowed = StateTable.allowed(M.self, in: state) else {
            return "state \(M.stateName(state)) is not in the documented table"
        }
        guard rejection.currentState == M.stateName(state), rejection.allowedCommands == allowed,
            rejection.command == M.name(of: command).rawValue
        else { return "refusal of \(command) misnames its context: \(rejection)" }
        let isAllowed = allowed.contains(M.name(of: command).rawValue)
        guard isAllowed == (rejection.field != nil) else {
            return "refusal of \(command) is inconsistent: \(rejection)"
        }
        return nil
    }
}

/// Random commands: the named command with field values that are usually, not always, valid.
enum RandomCommand {
    static let codes = ["CCT", "SP", "HI-3", "D-01", "P-01", "N-00", "NGO-9"]
    static let badCodes = ["", " ", "C CT", "x\u{7}", String(repeating: "A", count: 65)]
    static let texts = ["Payment late", "Nom : Amadou — \"urgent\"\n", "😀 ok", "x"]
    static let badTexts = ["", "  ", "\n\t"]

    static func code(_ rng: inout SeededRandom) -> String {
        Int.random(in: 0..<10, using: &rng) == 0
            ? Self.badCodes.randomElement(using: &rng) ?? "" : Self.codes.randomElement(using: &rng) ?? "CCT"
    }

    static func text(_ rng: inout SeededRandom) -> String {
        Int.random(in: 0..<10, using: &rng) == 0
            ? Self.badTexts.randomElement(using: &rng) ?? "" : Self.texts.randomElement(using: &rng) ?? "x"
    }

    /// Each of the person's attributes recorded or not.
    static func attributes(_ rng: inout SeededRandom) -> PersonAttributes {
        PersonAttributes(
            sex: Bool.random(using: &rng) ? Self.pick(&rng) : nil,
            ageGroup: Bool.random(using: &rng) ? Self.pick(&rng) : nil,
            disability: Bool.random(using: &rng) ? Self.pick(&rng) : nil)
    }

    static func maybe<T>(_ rng: inout SeededRandom, _ make: (inout SeededRandom) -> T) -> T? {
        Bool.random(using: &rng) ? make(&rng) : nil
    }

    static func pick<T: CaseIterable>(_ rng: inout SeededRandom, _ type: T.Type = T.self) -> T {
        let all = Array(T.allCases)
        return all[Int.random(in: 0..<all.count, using: &rng)]
    }

    static func identity(_ rng: inout SeededRandom) -> Identity {
        guard Bool.random(using: &rng) else { return .anonymous }
        return .person(
            PersonDetails(
                name: Self.maybe(&rng, Self.text), phone: Self.maybe(&rng, Self.text),
                nationalID: Self.maybe(&rng, Self.code), address: Self.maybe(&rng, Self.text)))
    }

    static func complaint(
        _ rng: inout SeededRandom, _ name: Complaint.CommandName, _ state: Complaint.State?, _ at: Timestamp
    ) -> Complaint.Command {
        switch name {
        case .lodge:
            return .lodge(
                Complaint.Lodgement(
                    channel: Self.pick(&rng), programme: Self.maybe(&rng, Self.code), category: Self.pick(&rng),
                    description: Self.text(&rng), area: Self.code(&rng), office: Self.code(&rng),
                    complainant: Self.identity(&rng), contactPreference: Self.pick(&rng),
                    sensitive: Bool.random(using: &rng), attributes: Self.attributes(&rng), at: at))
        case .acknowledge: return .acknowledge(at: at)
        case .assign: return .assign(programme: Self.code(&rng), officer: Self.maybe(&rng, Self.code), at: at)
        case .transfer: return .transfer(toProgramme: Self.code(&rng), reason: Self.text(&rng), at: at)
        case .escalate: return .escalate(toArea: Self.code(&rng), reason: Self.text(&rng), at: at)
        case .addNote: return .addNote(text: Self.text(&rng), at: at)
        case .recordFinding: return .recordFinding(text: Self.text(&rng), at: at)
        case .resolve: return .resolve(outcome: Self.pick(&rng), actionsTaken: Self.text(&rng), at: at)
        case .notifyComplainant: return .notifyComplainant(method: Self.pick(&rng), at: at)
        case .close: return .close(satisfaction: Self.maybe(&rng) { Self.pick(&$0) }, at: at)
        case .reopen:
            return .reopen(
                reason: Self.text(&rng), withinAppealWindow: Int.random(in: 0..<4, using: &rng) > 0, at: at)
        case .withdraw: return .withdraw(reason: Self.maybe(&rng, Self.text), at: at)
        case .rejectOutOfScope:
            return .rejectOutOfScope(redirectTo: Self.text(&rng), reason: Self.maybe(&rng, Self.text), at: at)
        }
    }

    static func appeal(
        _ rng: inout SeededRandom, _ name: Appeal.CommandName, _ state: Appeal.State?, _ at: Timestamp
    ) -> Appeal.Command {
        switch name {
        case .lodge:
            let subjects: [Appeal.Subject] = [
                .eligibilityDecision, .amountDecision, .suspensionDecision,
                .complaintOutcome(complaintID: Self.code(&rng)),
            ]
            return .lodge(
                Appeal.Lodgement(
                    subject: subjects.randomElement(using: &rng) ?? .amountDecision, grounds: Self.text(&rng),
                    programme: Self.code(&rng), area: Self.code(&rng), office: Self.code(&rng),
                    appellant: Self.identity(&rng), contactPreference: Self.pick(&rng),
                    attributes: Self.attributes(&rng), at: at))
        case .acknowledge: return .acknowledge(at: at)
        case .addNote: return .addNote(text: Self.text(&rng), at: at)
        case .withdraw: return .withdraw(reason: Self.maybe(&rng, Self.text), at: at)
        case .assign: return .assign(level: Self.pick(&rng), reviewer: Self.maybe(&rng, Self.code), at: at)
        case .decide: return .decide(decision: Self.pick(&rng), reasoning: Self.text(&rng), at: at)
        case .notifyAppellant: return .notifyAppellant(method: Self.pick(&rng), at: at)
        case .close: return .close(at: at)
        }
    }

    static func referral(
        _ rng: inout SeededRandom, _ name: Referral.CommandName, _ state: Referral.State?, _ at: Timestamp
    ) -> Referral.Command {
        switch name {
        case .create:
            var fields: StringFields = [:]
            for _ in 0..<Int.random(in: 0...3, using: &rng) { fields[Self.text(&rng)] = Self.text(&rng) }
            let person = Referral.ReferredPerson(kind: Self.pick(&rng), reference: Self.text(&rng), formFields: fields)
            return .create(
                Referral.Request(
                    source: Self.code(&rng), receiver: Self.code(&rng), person: .clear(person), reason: Self.text(&rng),
                    urgency: Self.pick(&rng), referralType: Self.text(&rng),
                    redirectedFrom: Self.maybe(&rng, Self.code), attributes: Self.attributes(&rng),
                    at: at))
        case .acknowledge: return .acknowledge(at: at)
        case .accept: return .accept(at: at)
        case .decline: return .decline(reason: Self.pick(&rng), explanation: Self.maybe(&rng, Self.text), at: at)
        case .redirect: return .redirect(newReferralID: Self.code(&rng), newReceiver: Self.code(&rng), at: at)
        case .startService: return .startService(at: at)
        case .complete:
            let outcome: Referral.ServiceOutcome =
                Bool.random(using: &rng)
                ? .delivered : .notDelivered(reason: Self.pick(&rng), details: Self.maybe(&rng, Self.text))
            return .complete(outcome: outcome, at: at)
        case .postFeedback:
            let services = (0..<Int.random(in: 0...3, using: &rng)).map { _ in Self.text(&rng) }
            let feedback = Referral.CounterReferral(
                outcome: Self.text(&rng), servicesGiven: services, notes: Self.maybe(&rng, Self.text))
            return .postFeedback(feedback, at: at)
        case .acknowledgeFeedback: return .acknowledgeFeedback(at: at)
        case .cancel: return .cancel(reason: Self.text(&rng), at: at)
        }
    }
}

/// What must hold in each status, beyond its type: nil when it does.
enum Invariant {
    static func complaint(_ state: Complaint.State) -> String? {
        let afterAssignment: Set<Complaint.Status> = [.assigned, .resolved, .complainantNotified, .closed]
        let afterResolution: Set<Complaint.Status> = [.resolved, .complainantNotified, .closed]
        if afterAssignment.contains(state.status), state.programme == nil || state.assignedAt == nil {
            return "\(state.status) without a programme"
        }
        if afterResolution.contains(state.status) != (state.redressOutcome != nil && state.resolvedAt != nil) {
            return "\(state.status) with redress outcome \(String(describing: state.redressOutcome))"
        }
        if [.complainantNotified, .closed].contains(state.status) != (state.notifiedAt != nil) {
            return "\(state.status) with notifiedAt \(String(describing: state.notifiedAt))"
        }
        if (state.status == .closed) != (state.closedAt != nil) { return "\(state.status) with closedAt" }
        if state.category.isAlwaysSensitive && !state.sensitive { return "\(state.category) not sensitive" }
        if state.escalationLevel == 0 && state.area != state.lodgingArea { return "moved area without escalation" }
        if state.status != .lodged && state.status != .withdrawn && state.status != .rejectedOutOfScope,
            state.acknowledgedAt == nil
        {
            return "\(state.status) without acknowledgement"
        }
        return nil
    }

    static func appeal(_ state: Appeal.State) -> String? {
        let reviewed: Set<Appeal.Status> = [.assigned, .decided, .appellantNotified, .closed]
        if reviewed.contains(state.status), state.reviewLevel == nil { return "\(state.status) without review level" }
        if [.lodged, .acknowledged].contains(state.status), state.reviewLevel != nil {
            return "\(state.status) with review level"
        }
        if [.decided, .appellantNotified, .closed].contains(state.status) != (state.decision != nil) {
            return "\(state.status) with decision \(String(describing: state.decision))"
        }
        if (state.status == .closed) != (state.closedAt != nil) { return "\(state.status) with closedAt" }
        return nil
    }

    static func referral(_ state: Referral.State) -> String? {
        if [.completed, .feedbackPosted, .loopClosed].contains(state.status) != (state.serviceOutcome != nil) {
            return "\(state.status) with service outcome"
        }
        if [.feedbackPosted, .loopClosed].contains(state.status) != (state.feedback != nil) {
            return "\(state.status) with feedback"
        }
        if state.status == .redirected, state.redirectedTo == nil || state.declineReason == nil {
            return "redirected without its successor"
        }
        if state.receiver == state.source { return "referred to its own source" }
        if (state.status == .loopClosed) != (state.loopClosedAt != nil) { return "\(state.status) with loopClosedAt" }
        return nil
    }
}
