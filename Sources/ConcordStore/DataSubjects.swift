import ConcordCore
import Logging
import PostgresNIO

/// Legal holds and erasure of data subjects, for the admin API and `concord subject`: the decision is recorded in
/// the subject's stream first, then the data key is destroyed. A process that stops between the two finishes the
/// erasure the next time it is asked, or at the next start (`finishErasures`).
public struct DataSubjects: Sendable {
    let repository: CaseRepository<DataSubject>
    let client: PostgresClient
    let logger: Logger

    /// Needs no master key: erasure destroys a wrapped key without opening it.
    public init(store: EventStore, client: PostgresClient, logger: Logger) {
        self.repository = CaseRepository(store: store)
        self.client = client
        self.logger = logger
    }

    public enum Refusal: Error, Equatable, Sendable {
        /// No personal data was ever sealed for this subject.
        case unknownSubject(String)
    }

    /// A subject's stream and whether its data key is live.
    public struct Status: Sendable {
        public var loaded: CaseRepository<DataSubject>.Loaded
        public var keyIsLive: Bool

        public var view: JSONValue {
            guard case .object(var members) = DataSubject.view(self.loaded.state) else { return .null }
            members["key"] = .string(self.keyIsLive ? "live" : "destroyed")
            return .object(members)
        }
    }

    public func status(_ subject: String) async throws -> Status {
        guard let live = try await self.keyIsLive(subject) else { throw Refusal.unknownSubject(subject) }
        return Status(loaded: try await self.repository.load(subject), keyIsLive: live)
    }

    /// Runs `command` on the subject's stream; an erasure then destroys the key. Erasing an erased subject changes
    /// nothing and answers with its status (`changed` false).
    public func run(
        _ subject: String, metadata: EventMetadata,
        command: @escaping @Sendable (DataSubject.State?) -> DataSubject.Command
    ) async throws -> (status: Status, changed: Bool) {
        let current = try await self.status(subject)
        if current.loaded.state?.status == .erased, case .erase = command(current.loaded.state) {
            try await self.destroyKey(of: subject)
            return (try await self.status(subject), false)
        }
        let outcome = try await self.repository.handle(
            subject, preloaded: current.loaded, metadata: metadata, command: command)
        if outcome.loaded.state?.status == .erased { try await self.destroyKey(of: subject) }
        return (try await self.status(subject), true)
    }

    /// Whether `subject` has a data key: nil when none was ever made, false once it is destroyed.
    func keyIsLive(_ subject: String) async throws -> Bool? {
        let rows = try await self.client.query(
            "SELECT wrapped_key IS NOT NULL FROM subject_keys WHERE subject = \(subject)", logger: self.logger)
        for try await live in rows.decode(Bool.self) { return live }
        return nil
    }

    /// Destroys `subject`'s data key, and their rows of the phone and national ID index. Idempotent.
    func destroyKey(of subject: String) async throws {
        try await self.client.query(
            """
            UPDATE subject_keys SET wrapped_key = NULL, erased_at = now()
            WHERE subject = \(subject) AND wrapped_key IS NOT NULL
            """, logger: self.logger)
        try await self.client.query("DELETE FROM case_lookup WHERE subject = \(subject)", logger: self.logger)
    }

    /// Destroys the keys of subjects whose erasure is recorded but whose key survived (the process stopped between
    /// the two steps).
    public static func finishErasures(client: PostgresClient, logger: Logger) async throws {
        try await client.query(
            """
            UPDATE subject_keys k SET wrapped_key = NULL, erased_at = now()
            WHERE k.wrapped_key IS NOT NULL AND EXISTS (
                SELECT FROM events e WHERE e.stream_type = 'subject' AND e.stream_id = k.subject
                AND e.event_type = 'PersonalDataErased')
            """, logger: logger)
        try await client.query(
            """
            DELETE FROM case_lookup l
            WHERE EXISTS (SELECT FROM subject_keys k WHERE k.subject = l.subject AND k.wrapped_key IS NULL)
            """, logger: logger)
    }
}
