import Foundation

/// The shape shared by the complaint, appeal and referral streams: `decide` turns a command and the current state
/// into events or a refusal, `evolve` folds one event into the state. Both are pure: no clock, no I/O; the time of
/// an action comes in the command and is recorded in its event. A nil state means the stream has no events yet.
/// `SendableMetatype`: the HTTP layer's route closures capture the machine's type, so it must cross isolation.
public protocol StateMachine: SendableMetatype {
    associatedtype State: Sendable & Equatable
    associatedtype Command: Sendable & Equatable
    associatedtype Event: DomainEvent
    /// The names of the commands, as rejections and the state tables spell them.
    associatedtype CommandName: RawRepresentable<String> & CaseIterable & Hashable & Sendable

    /// The stream type in the log: `complaint`, `appeal` or `referral`.
    static var streamType: String { get }

    /// The events that `command` produces in `state`, or why it is refused.
    static func decide(_ command: Command, state: State?) -> Result<[Event], Rejection>

    /// The state after `event`, made in place. Trusts that `event` came from `decide`: an event that cannot apply
    /// (a second creation, anything before the creation) leaves the state unchanged.
    static func evolve(_ state: inout State?, by event: Event)

    /// The commands `state` allows, in the order of the state table.
    static func allowedCommands(in state: State?) -> [CommandName]

    /// The name of `command`.
    static func name(of command: Command) -> CommandName

    /// The name of the status `state` is in; `"none"` for a stream without events.
    static func stateName(_ state: State?) -> String
}

extension StateMachine {
    /// The state after `event` (`evolve(_:by:)` on a copy).
    public static func evolve(_ state: State?, _ event: Event) -> State? {
        var next = state
        Self.evolve(&next, by: event)
        return next
    }

    /// The state that `events`, in stream order, build from nothing.
    public static func replay(_ events: [Event]) -> State? {
        events.reduce(into: nil) { state, event in Self.evolve(&state, by: event) }
    }

    /// The first step of every decision: refuses a command that the current state does not allow, and otherwise
    /// returns the context for the field checks.
    static func check(_ command: Command, in state: State?) throws(Rejection) -> CommandCheck {
        let allowed = Self.allowedCommands(in: state)
        let check = CommandCheck(
            kind: Self.streamType, command: Self.name(of: command).rawValue, currentState: Self.stateName(state),
            allowedCommands: allowed.map(\.rawValue))
        guard allowed.contains(Self.name(of: command)) else { throw check.notAllowed }
        return check
    }
}

/// A domain event that converts to the log's `EventData` shape and back.
public protocol DomainEvent: Sendable, Hashable {
    /// PascalCase past tense, unique across all streams, e.g. `ComplaintLodged`.
    var eventType: String { get }
    /// The version of the payload's shape; 1 for every event so far.
    var schemaVersion: Int32 { get }
    /// The payload as stored: snake_case keys, enums as snake_case strings, times as RFC 3339 strings, absent
    /// optional values left out.
    var payload: JSONValue { get }
    /// When the action happened.
    var at: Timestamp { get }

    /// The event stored as `type`, `schemaVersion` and `payload`; throws `EventPayloadError` for an unknown type,
    /// an unsupported version or a payload that does not have the documented shape.
    static func decode(type: String, schemaVersion: Int32, payload: JSONValue) throws -> Self
}

extension DomainEvent {
    public var schemaVersion: Int32 { 1 }

    /// The event ready to append.
    public func eventData(id: UUID = UUID(), metadata: EventMetadata = EventMetadata()) -> EventData {
        EventData(
            id: id, type: self.eventType, schemaVersion: self.schemaVersion, payload: self.payload, metadata: metadata)
    }

    /// The domain event of a recorded event.
    public static func decode(_ recorded: RecordedEvent) throws -> Self {
        try Self.decode(type: recorded.type, schemaVersion: recorded.schemaVersion, payload: recorded.payload)
    }
}
