/// One bad member of a command request body.
public struct FieldProblem: Sendable, Hashable, CustomStringConvertible {
    /// The snake_case path of the member, dotted inside nested objects (e.g. `complainant.phone`); empty for the
    /// body as a whole.
    public var field: String
    /// What to fix, for a person.
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { self.field.isEmpty ? self.reason : "\(self.field): \(self.reason)" }
}

/// Why a command request body could not be turned into a command: every bad member found, in the order the body is
/// read, then the members that do not belong in it, by name. Checks the shape only (presence, types, value sets);
/// what the values mean (empty text, codes, the state table) is checked by `decide`, which answers a `Rejection`.
public struct CommandRequestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Never empty.
    public var problems: [FieldProblem]

    public init(problems: [FieldProblem]) {
        self.problems = problems
    }

    /// The first bad member's path.
    public var field: String { self.problems.first?.field ?? "" }
    /// What is wrong with the first bad member.
    public var reason: String { self.problems.first?.reason ?? "" }

    public var description: String { self.problems.map(\.description).joined(separator: "; ") }
}

/// Turns the JSON body of an HTTP command request into a domain command. The body of a command is the payload of
/// the event it produces, as documented in `docs/events.md`, without `at` (the server supplies the time); the
/// exceptions are listed there under "Command request bodies". Members that do not belong are refused.
public protocol CommandRequestDecoding: StateMachine {
    /// The command `name` with the members of `body`, happening at `at`; or every problem with the body.
    static func command(_ name: CommandName, body: JSONValue, at: Timestamp) throws(CommandRequestError) -> Command

    /// As `command(_:body:at:)`, for a request whose command may create another case: `newCaseID` is the
    /// tracking code the server chose for it (a redirected referral's replacement), and the body may not choose it.
    static func command(
        _ name: CommandName, body: JSONValue, at: Timestamp, newCaseID: String
    ) throws(CommandRequestError) -> Command
}

extension CommandRequestDecoding {
    public static func command(
        _ name: CommandName, body: JSONValue, at: Timestamp, newCaseID: String
    ) throws(CommandRequestError) -> Command {
        try Self.command(name, body: body, at: at)
    }
}

extension CommandRequestDecoding {
    /// The command named `text` in its snake_case spelling (`add_note`), or nil when there is none.
    public static func commandName(_ text: String) -> CommandName? {
        CommandName(rawValue: text)
    }
}

/// Reads a command request body through `PayloadReader`, the reader of the event payloads, but collects every
/// problem instead of stopping at the first one, and refuses every member it was not asked to read.
struct RequestBody {
    private let reader: PayloadReader
    /// The members read so far: the others are refused when the body is checked.
    private var read: Set<String> = []
    private var problems: [FieldProblem] = []
    /// Members that must not be sent, with why: the time, and what Concord works out itself.
    private var leftOut: [String: String] = ["at": Self.setByServer]

    static let setByServer = "is set by the server; leave it out"
    static let workedOut = "is worked out by Concord; leave it out"

    /// Opens a body, which must be a JSON object.
    init(_ body: JSONValue) throws(CommandRequestError) {
        do {
            self.reader = try PayloadReader(eventType: "request", payload: body)
        } catch {
            throw CommandRequestError(problems: [FieldProblem(field: "", reason: "the body must be a JSON object")])
        }
    }

    private init(reader: PayloadReader) {
        self.reader = reader
        self.leftOut = [:]
    }

    /// The member `key`, nil (with a problem noted) when it is absent or of the wrong type.
    mutating func required<Value: PayloadValue>(_ key: String, as type: Value.Type = Value.self) -> Value? {
        self.attempt([key]) { reader throws(EventPayloadError) in try reader.required(key, as: type) }
    }

    /// The member `key`, nil when absent, null or (with a problem noted) of the wrong type.
    mutating func optional<Value: PayloadValue>(_ key: String, as type: Value.Type = Value.self) -> Value? {
        self.attempt([key]) { reader throws(EventPayloadError) in try reader.optional(key, as: type) } ?? nil
    }

    /// The result of a shared payload reader that reads the members `keys`; nil with its problem noted when it
    /// throws.
    mutating func attempt<Value>(
        _ keys: [String], _ read: (PayloadReader) throws(EventPayloadError) -> Value
    ) -> Value? {
        self.read.formUnion(keys)
        do {
            return try read(self.reader)
        } catch {
            self.problems.append(FieldProblem(field: error.field ?? "", reason: error.reason))
            return nil
        }
    }

    /// The nested object `key`, to read like the body and then `merge`; nil (with a problem noted) when it is
    /// absent or not an object.
    mutating func object(_ key: String) -> RequestBody? {
        self.attempt([key]) { reader throws(EventPayloadError) in RequestBody(reader: try reader.object(key)) }
    }

    /// Takes over the problems of a nested object, including its members that nobody read.
    mutating func merge(_ nested: RequestBody?) {
        guard let nested else { return }
        self.problems += nested.error.problems
    }

    /// Refuses the members of the nested object `key` other than `known`, when `key` holds an object; for nested
    /// objects read by a shared reader.
    mutating func onlyKnown(_ known: Set<String>, inside key: String) {
        guard case .object(let members)? = self.reader.members[key] else { return }
        let path = self.reader.path + key + "."
        for unknown in members.keys.filter({ !known.contains($0) }).sorted() {
            self.problems.append(FieldProblem(field: path + unknown, reason: "unknown field"))
        }
    }

    /// Refuses `key` with `reason` if it is sent.
    mutating func leaveOut(_ key: String, because reason: String) {
        self.leftOut[key] = reason
    }

    /// Notes a problem the shared readers cannot see, such as a member that depends on another.
    mutating func problem(_ key: String, _ reason: String) {
        self.problems.append(FieldProblem(field: self.reader.path + key, reason: reason))
    }

    /// Whether `key` is present and not null.
    func has(_ key: String) -> Bool {
        self.reader.members[key].map { $0 != .null } ?? false
    }

    /// True when no problem was found and every member was read.
    var isValid: Bool { self.error.problems.isEmpty }

    /// The problems found, then the members nobody read, by name.
    var error: CommandRequestError {
        let unread = self.reader.members.keys.filter { !self.read.contains($0) }.sorted()
        let refused = unread.map { key in
            FieldProblem(field: self.reader.path + key, reason: self.leftOut[key] ?? "unknown field")
        }
        return CommandRequestError(problems: self.problems + refused)
    }

    /// `command` when the body is valid, otherwise its problems; for commands whose members are all optional.
    func finish<Command>(_ command: Command) throws(CommandRequestError) -> Command {
        guard self.isValid else { throw self.error }
        return command
    }
}

extension RequestBody {
    /// The members of an `Identity` (`anonymous` and the personal details object `key`) through the shared reader,
    /// refusing unknown members inside the details.
    mutating func identity(_ key: String) -> Identity? {
        self.onlyKnown(["name", "phone", "national_id", "address"], inside: key)
        return self.attempt(["anonymous", key]) { reader throws(EventPayloadError) in
            try Identity.read(key, from: reader)
        }
    }
}
