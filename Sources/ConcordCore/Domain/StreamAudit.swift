/// A stream kind whose every event comes from one command (or, for `EscalatedForOverdue`, from the service acting
/// as that command): a stored stream is a legal sequence when each event's command was allowed in the state the
/// events before it built.
public protocol CommandProduced: StateMachine {
    /// The command whose acceptance produces `event`; nil for a record the service appends in any state of an
    /// existing case (what came of a message it sent).
    static func command(producing event: Event) -> CommandName?
}

extension CommandProduced {
    /// Why `event` cannot follow `state`, or nil when it can.
    public static func illegality(of event: Event, after state: State?) -> String? {
        guard let name = Self.command(producing: event) else {
            return state == nil ? "\(event.eventType) cannot come before the \(Self.streamType) exists" : nil
        }
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
    public static func command(producing event: Event) -> CommandName? {
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
        case .delivery: nil
        }
    }
}

extension Appeal: CommandProduced {
    public static func command(producing event: Event) -> CommandName? {
        switch event {
        case .lodged: .lodge
        case .acknowledged: .acknowledge
        case .noteAdded: .addNote
        case .withdrawn: .withdraw
        case .assigned: .assign
        case .decided: .decide
        case .appellantNotified: .notifyAppellant
        case .closed: .close
        }
    }
}

extension Referral: CommandProduced {
    public static func command(producing event: Event) -> CommandName? {
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
        case .delivery: nil
        }
    }
}

/// Checks, event by event in log order, that every payload decodes as its event type and schema version and that
/// each stream is a legal sequence for its state machine. Pure; `audit verify` feeds it the log after the chain
/// checks. Keeps each stream's state, so it must see a stream from its first event.
public struct StreamAudit: Sendable {
    // Each kind's states apart, so that a state is folded in place in its dictionary's slot (states are large:
    // copying one out and back was about an eighth of the in-order work).
    private var complaints: [StreamKey: Complaint.State] = [:]
    private var appeals: [StreamKey: Appeal.State] = [:]
    private var referrals: [StreamKey: Referral.State] = [:]
    private var subjects: [StreamKey: DataSubject.State] = [:]

    public init() {}

    /// A payload decoded as its stream's event type, ahead of `problem(in:decoded:)`: decoding does not depend on
    /// the events before it, so `audit verify` decodes a page on several cores and folds it in order.
    public enum Decoded: Sendable {
        case complaint(Result<Complaint.Event, Failure>)
        case appeal(Result<Appeal.Event, Failure>)
        case referral(Result<Referral.Event, Failure>)
        case subject(Result<DataSubject.Event, Failure>)
        /// Reference data and checkpoints, which are checked whole, on their own: what is wrong, if anything.
        case other(problem: String?)
    }

    public struct Failure: Error, Sendable {
        var reason: String
    }

    public static func decode(_ event: RecordedEvent) -> Decoded {
        switch event.stream.type {
        case Complaint.streamType: .complaint(Self.attempt(Complaint.self, event))
        case Appeal.streamType: .appeal(Self.attempt(Appeal.self, event))
        case Referral.streamType: .referral(Self.attempt(Referral.self, event))
        case DataSubject.streamType: .subject(Self.attempt(DataSubject.self, event))
        default: .other(problem: Self.otherProblem(event))
        }
    }

    private static func attempt<M: StateMachine>(_: M.Type, _ event: RecordedEvent) -> Result<M.Event, Failure> {
        do {
            return .success(try M.Event.decode(event))
        } catch {
            return .failure(Failure(reason: "payload does not decode: \(error)"))
        }
    }

    /// Why `event` is not what its stream allows, or nil.
    public mutating func problem(with event: RecordedEvent) -> String? {
        self.problem(in: StreamKey(event.stream), decoded: Self.decode(event))
    }

    /// Why the next event of `stream`, decoded as `decoded`, is not what the stream allows, or nil. Each stream's
    /// state is folded in place: one lookup per event.
    public mutating func problem(in stream: StreamKey, decoded: Decoded) -> String? {
        switch decoded {
        case .complaint(let result): Self.fold(Complaint.self, &self.complaints[stream], result)
        case .appeal(let result): Self.fold(Appeal.self, &self.appeals[stream], result)
        case .referral(let result): Self.fold(Referral.self, &self.referrals[stream], result)
        case .subject(let result): Self.fold(DataSubject.self, &self.subjects[stream], result)
        case .other(let problem): problem
        }
    }

    /// Steps one stream's state with its next event; the problem with it, if any, leaves the state unchanged.
    private static func fold<M: CommandProduced>(
        _: M.Type, _ state: inout M.State?, _ decoded: Result<M.Event, Failure>
    ) -> String? {
        switch decoded {
        case .failure(let failure): return failure.reason
        case .success(let event):
            if let problem = M.illegality(of: event, after: state) { return problem }
            M.evolve(&state, by: event)
            return nil
        }
    }

    private static func otherProblem(_ event: RecordedEvent) -> String? {
        switch event.stream.type {
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
}
