/// A stream kind whose every event comes from one command (or, for `EscalatedForOverdue`, from the service acting
/// as that command): a stored stream is a legal sequence when each event's command was allowed in the state the
/// events before it built.
public protocol CommandProduced: StateMachine {
    /// The command whose acceptance produces `event`.
    static func command(producing event: Event) -> CommandName
}

extension CommandProduced {
    /// Why `event` cannot follow `state`, or nil when it can.
    public static func illegality(of event: Event, after state: State?) -> String? {
        let name = Self.command(producing: event)
        let allowed = Self.allowedCommands(in: state)
        guard allowed.contains(name) else {
            let list = allowed.isEmpty ? "nothing" : allowed.map(\.rawValue).joined(separator: ", ")
            return "\(event.eventType) cannot follow state \(Self.stateName(state)) of a \(Self.streamType) "
                + "(which allows \(list))"
        }
        return nil
    }
}

extension Complaint: CommandProduced {
    public static func command(producing event: Event) -> CommandName {
        switch event {
        case .lodged: .lodge
        case .acknowledged: .acknowledge
        case .assigned: .assign
        case .transferred: .transfer
        case .escalated, .escalatedForOverdue: .escalate
        case .noteAdded: .addNote
        case .findingRecorded: .recordFinding
        case .resolved: .resolve
        case .complainantNotified: .notifyComplainant
        case .closed: .close
        case .reopened: .reopen
        case .withdrawn: .withdraw
        case .rejectedOutOfScope: .rejectOutOfScope
        }
    }
}

extension Appeal: CommandProduced {
    public static func command(producing event: Event) -> CommandName {
        switch event {
        case .lodged: .lodge
        case .assigned: .assign
        case .decided: .decide
        case .appellantNotified: .notifyAppellant
        case .closed: .close
        }
    }
}

extension Referral: CommandProduced {
    public static func command(producing event: Event) -> CommandName {
        switch event {
        case .created: .create
        case .acknowledged: .acknowledge
        case .accepted: .accept
        case .declined: .decline
        case .redirected: .redirect
        case .serviceStarted: .startService
        case .completed: .complete
        case .feedbackPosted: .postFeedback
        case .feedbackAcknowledged: .acknowledgeFeedback
        case .cancelled: .cancel
        }
    }
}

/// Checks, event by event in log order, that every payload decodes as its event type and schema version and that
/// each stream is a legal sequence for its state machine. Pure; `audit verify` feeds it the log after the chain
/// checks. Keeps each stream's state, so it must see a stream from its first event.
public struct StreamAudit: Sendable {
    private enum Folded: Sendable {
        case complaint(Complaint.State?)
        case appeal(Appeal.State?)
        case referral(Referral.State?)
        case subject(DataSubject.State?)
    }

    private var states: [StreamName: Folded] = [:]

    public init() {}

    /// Why `event` is not what its stream allows, or nil.
    public mutating func problem(with event: RecordedEvent) -> String? {
        switch event.stream.type {
        case Complaint.streamType:
            guard case .complaint(let state) = self.states[event.stream] ?? .complaint(nil) else { return nil }
            let (problem, next) = Self.step(Complaint.self, event, state)
            self.states[event.stream] = .complaint(next)
            return problem
        case Appeal.streamType:
            guard case .appeal(let state) = self.states[event.stream] ?? .appeal(nil) else { return nil }
            let (problem, next) = Self.step(Appeal.self, event, state)
            self.states[event.stream] = .appeal(next)
            return problem
        case Referral.streamType:
            guard case .referral(let state) = self.states[event.stream] ?? .referral(nil) else { return nil }
            let (problem, next) = Self.step(Referral.self, event, state)
            self.states[event.stream] = .referral(next)
            return problem
        case DataSubject.streamType:
            guard case .subject(let state) = self.states[event.stream] ?? .subject(nil) else { return nil }
            let (problem, next) = Self.step(DataSubject.self, event, state)
            self.states[event.stream] = .subject(next)
            return problem
        case ReferenceEvent.streamType:
            do {
                _ = try ReferenceEvent.decode(event)
                return nil
            } catch {
                return "payload does not decode: \(error)"
            }
        case Checkpoint.streamType:
            guard event.type == Checkpoint.eventType, Checkpoint(json: event.payload) != nil else {
                return "payload does not decode as a \(Checkpoint.eventType)"
            }
            return nil
        default:
            return "unknown stream type '\(event.stream.type)'"
        }
    }

    /// The problem with `event` after `state`, and the state to keep (unchanged when there is a problem).
    private static func step<M: CommandProduced>(
        _ machine: M.Type, _ event: RecordedEvent, _ state: M.State?
    ) -> (String?, M.State?) {
        let decoded: M.Event
        do {
            decoded = try M.Event.decode(event)
        } catch {
            return ("payload does not decode: \(error)", state)
        }
        if let problem = M.illegality(of: decoded, after: state) { return (problem, state) }
        return (nil, M.evolve(state, decoded))
    }
}
