/// The data subject stream (type `subject`, id the subject's): what was done about a person's personal data. A legal hold (an
/// investigation or a court case needs the data kept) blocks erasure until it is released; erasure is final.
/// The subject's id is the id of the case that first recorded their details (see `PersonDetails.subject`).
///
/// | status  | allowed commands              |
/// | ------- | ----------------------------- |
/// | (none)  | set_legal_hold, erase         |
/// | active  | set_legal_hold, erase         |
/// | held    | release_legal_hold            |
/// | erased  | (none)                        |
public enum DataSubject: StateMachine {
    public static let streamType = "subject"

    public struct State: Sendable, Equatable {
        public var status: Status
        /// Why the hold is set, while it is.
        public var holdReason: String?
        public var erasedAt: Timestamp?
    }

    public enum Status: String, Sendable, Hashable, CaseIterable {
        case active
        case held
        case erased
    }

    public enum Command: Sendable, Equatable {
        case setLegalHold(reason: String, at: Timestamp)
        case releaseLegalHold(reason: String, at: Timestamp)
        /// Who asks is in the event's metadata; why, and under which law, here.
        case erase(reason: String, legalBasis: String, at: Timestamp)
    }

    public enum CommandName: String, Sendable, Hashable, CaseIterable {
        case setLegalHold = "set_legal_hold"
        case releaseLegalHold = "release_legal_hold"
        case erase
    }

    public enum Event: DomainEvent {
        case legalHoldSet(reason: String, at: Timestamp)
        case legalHoldReleased(reason: String, at: Timestamp)
        case personalDataErased(reason: String, legalBasis: String, at: Timestamp)
    }

    public enum EventKind: String, Sendable, Hashable, CaseIterable {
        case legalHoldSet = "LegalHoldSet"
        case legalHoldReleased = "LegalHoldReleased"
        case personalDataErased = "PersonalDataErased"
    }

    public static func decide(_ command: Command, state: State?) -> Result<[Event], Rejection> {
        Result { () throws(Rejection) -> [Event] in
            if case .erase = command, let reason = state?.holdReason {
                throw Rejection(
                    command: CommandName.erase.rawValue, currentState: Self.stateName(state),
                    allowedCommands: Self.allowedCommands(in: state).map(\.rawValue), field: nil,
                    reason: "the subject is under legal hold (\(reason)); release the hold before erasing")
            }
            let check = try Self.check(command, in: state)
            switch command {
            case .setLegalHold(let reason, let at):
                try check.text(reason, "reason")
                return [.legalHoldSet(reason: reason, at: at)]
            case .releaseLegalHold(let reason, let at):
                try check.text(reason, "reason")
                return [.legalHoldReleased(reason: reason, at: at)]
            case .erase(let reason, let legalBasis, let at):
                try check.text(reason, "reason")
                try check.text(legalBasis, "legal_basis")
                return [.personalDataErased(reason: reason, legalBasis: legalBasis, at: at)]
            }
        }
    }

    public static func evolve(_ state: inout State?, by event: Event) {
        // A subject without events is active.
        var next = state ?? State(status: .active)
        switch event {
        case .legalHoldSet(let reason, _):
            next.status = .held
            next.holdReason = reason
        case .legalHoldReleased:
            next.status = .active
            next.holdReason = nil
        case .personalDataErased(_, _, let at):
            next.status = .erased
            next.erasedAt = at
        }
        state = next
    }

    public static func allowedCommands(in state: State?) -> [CommandName] {
        switch state?.status ?? .active {
        case .active: [.setLegalHold, .erase]
        case .held: [.releaseLegalHold]
        case .erased: []
        }
    }

    public static func name(of command: Command) -> CommandName {
        switch command {
        case .setLegalHold: .setLegalHold
        case .releaseLegalHold: .releaseLegalHold
        case .erase: .erase
        }
    }

    public static func stateName(_ state: State?) -> String { state?.status.rawValue ?? "none" }

    public static func view(_ state: State?) -> JSONValue {
        .object([
            "status": .string(state?.status.rawValue ?? Status.active.rawValue),
            "hold_reason": state?.holdReason.map(JSONValue.string) ?? .null,
            "erased_at": state?.erasedAt.map { .string($0.rfc3339) } ?? .null,
        ])
    }
}

extension DataSubject.State {
    init(status: DataSubject.Status) { self.init(status: status, holdReason: nil, erasedAt: nil) }
}

extension DataSubject.Event {
    public var eventType: String {
        switch self {
        case .legalHoldSet: DataSubject.EventKind.legalHoldSet.rawValue
        case .legalHoldReleased: DataSubject.EventKind.legalHoldReleased.rawValue
        case .personalDataErased: DataSubject.EventKind.personalDataErased.rawValue
        }
    }

    public var at: Timestamp {
        switch self {
        case .legalHoldSet(_, let at), .legalHoldReleased(_, let at), .personalDataErased(_, _, let at): at
        }
    }

    public var payload: JSONValue {
        switch self {
        case .legalHoldSet(let reason, let at), .legalHoldReleased(let reason, let at):
            Payload.object(["reason": reason, "at": at])
        case .personalDataErased(let reason, let legalBasis, let at):
            Payload.object(["reason": reason, "legal_basis": legalBasis, "at": at])
        }
    }

    public static func decode(type: String, schemaVersion: Int32, payload: JSONValue) throws -> Self {
        let (kind, reader) = try PayloadReader.open(
            DataSubject.EventKind.self, type: type, schemaVersion: schemaVersion, payload: payload, stream: "subject")
        let at = try reader.required("at", as: Timestamp.self)
        let reason = try reader.required("reason", as: String.self)
        switch kind {
        case .legalHoldSet: return .legalHoldSet(reason: reason, at: at)
        case .legalHoldReleased: return .legalHoldReleased(reason: reason, at: at)
        case .personalDataErased:
            return .personalDataErased(reason: reason, legalBasis: try reader.required("legal_basis"), at: at)
        }
    }
}

extension DataSubject: CommandProduced {
    public static func command(producing event: Event) -> CommandName? {
        switch event {
        case .legalHoldSet: .setLegalHold
        case .legalHoldReleased: .releaseLegalHold
        case .personalDataErased: .erase
        }
    }
}

extension DataSubject: CommandRequestDecoding {
    /// The body is the payload of the event the command produces, without `at`.
    public static func command(
        _ name: CommandName, body json: JSONValue, at: Timestamp
    ) throws(CommandRequestError) -> Command {
        var body = try RequestBody(json)
        let reason = body.required("reason", as: String.self)
        switch name {
        case .setLegalHold:
            guard let reason, body.isValid else { throw body.error }
            return .setLegalHold(reason: reason, at: at)
        case .releaseLegalHold:
            guard let reason, body.isValid else { throw body.error }
            return .releaseLegalHold(reason: reason, at: at)
        case .erase:
            let legalBasis = body.required("legal_basis", as: String.self)
            guard let reason, let legalBasis, body.isValid else { throw body.error }
            return .erase(reason: reason, legalBasis: legalBasis, at: at)
        }
    }
}
