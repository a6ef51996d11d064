/// Why `decide` refused a command. Every refusal names the state the stream is in and the commands that state
/// allows, so that a caller can tell the user what to do instead. A refusal for a bad input value also names the
/// field (in the snake_case spelling of the API and the event payloads); a refusal because of the state has none.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The refused command, e.g. `"transfer"`.
    public var command: String
    /// The status the stream is in, e.g. `"lodged"`; `"none"` when the stream has no events yet.
    public var currentState: String
    /// The commands the current state allows, in a fixed order.
    public var allowedCommands: [String]
    /// The input field at fault, or nil when the command is not allowed in the current state.
    public var field: String?
    /// What is wrong, for a person.
    public var reason: String

    public init(command: String, currentState: String, allowedCommands: [String], field: String?, reason: String) {
        self.command = command
        self.currentState = currentState
        self.allowedCommands = allowedCommands
        self.field = field
        self.reason = reason
    }

    public var description: String {
        let allowed = self.allowedCommands.isEmpty ? "none" : self.allowedCommands.joined(separator: ", ")
        let subject = self.field.map { "\(self.command).\($0)" } ?? self.command
        return "\(subject) refused in state '\(self.currentState)': \(self.reason) (allowed: \(allowed))"
    }
}

/// The context of one `decide` call, from which its refusals are made. The checks throw, so that a decision reads
/// as a list of checks followed by the events.
struct CommandCheck: Sendable {
    /// The stream kind, for messages: `complaint`, `appeal`, `referral`.
    let kind: String
    let command: String
    let currentState: String
    let allowedCommands: [String]

    /// The refusal for a command that the current state does not allow.
    var notAllowed: Rejection {
        let reason =
            self.currentState == "none"
            ? "there is no \(self.kind) yet"
            : "a \(self.kind) in state '\(self.currentState)' does not accept '\(self.command)'"
        return Rejection(
            command: self.command, currentState: self.currentState, allowedCommands: self.allowedCommands, field: nil,
            reason: reason)
    }

    func invalid(_ field: String, _ reason: String) -> Rejection {
        Rejection(
            command: self.command, currentState: self.currentState, allowedCommands: self.allowedCommands,
            field: field, reason: reason)
    }

    func that(_ condition: Bool, _ field: String, _ reason: @autoclosure () -> String) throws(Rejection) {
        if !condition { throw self.invalid(field, reason()) }
    }

    /// Free text that must say something: not empty, not only whitespace.
    func text(_ value: String, _ field: String) throws(Rejection) {
        try self.that(!value.allSatisfy(\.isWhitespace), field, "must not be empty")
    }

    /// Optional free text: absent is fine, present must say something.
    func optionalText(_ value: String?, _ field: String) throws(Rejection) {
        if let value { try self.text(value, field) }
    }

    /// A programme, office, area, officer or referral code: one word of at most 64 characters.
    func code(_ value: String, _ field: String) throws(Rejection) {
        try self.that(!value.isEmpty, field, "must not be empty")
        try self.that(value.count <= 64, field, "must be at most 64 characters")
        try self.that(
            value.allSatisfy(Self.isCodeCharacter), field, "must be a code without spaces or control characters")
    }

    func optionalCode(_ value: String?, _ field: String) throws(Rejection) {
        if let value { try self.code(value, field) }
    }

    private static func isCodeCharacter(_ character: Character) -> Bool {
        !character.isWhitespace && !character.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
