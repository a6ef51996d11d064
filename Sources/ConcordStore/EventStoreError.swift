import ConcordCore

/// Why an append or a read was refused. A struct with an extensible code, so that callers can match the code and
/// print the message; messages never carry payloads (they may hold personal data).
public struct EventStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        /// The stream's current version is not the expected one; nothing was written.
        public static let wrongExpectedVersion = Code(name: "wrongExpectedVersion")
        /// The idempotency key was used before for a different append; nothing was written.
        public static let idempotencyKeyReused = Code(name: "idempotencyKeyReused")
        /// The append itself is malformed (no events, empty names); nothing was written.
        public static let invalidAppend = Code(name: "invalidAppend")
        /// The store is shutting down and takes no more appends.
        public static let shuttingDown = Code(name: "shuttingDown")
        /// A stored event could not be decoded.
        public static let corruptEvent = Code(name: "corruptEvent")
        public var description: String { self.name }
    }

    public var code: Code
    public var message: String
    public var stream: StreamName?
    /// For `wrongExpectedVersion`: the stream's version when the append was tried (0 when it does not exist).
    public var currentVersion: Int64?

    public init(_ code: Code, _ message: String, stream: StreamName? = nil, currentVersion: Int64? = nil) {
        self.code = code
        self.message = message
        self.stream = stream
        self.currentVersion = currentVersion
    }

    public var description: String { "\(self.code): \(self.message)" }
}
