import ConcordCore
import Crypto
import Foundation
import PostgresNIO

/// The phone and national ID index (`case_lookup`, see `CaseLookup`): written by the command path, where the
/// clear values exist before sealing; emptied of a subject's rows when the subject is erased (`DataSubjects`).
extension PersonalDataVault {
    var lookupKey: SymmetricKey { CaseLookup.key(master: self.master) }

    /// Indexes the phone numbers and national IDs of `events` (clear, with their subject) of case `stream`.
    /// Indexing twice changes nothing.
    public func index(_ events: [(type: String, payload: JSONValue)], stream: StreamName) async throws {
        for event in events {
            guard let (subject, values) = CaseLookup.values(type: event.type, payload: event.payload) else { continue }
            for (kind, value) in values {
                guard let digest = CaseLookup.digest(value, as: kind, key: self.lookupKey) else { continue }
                try await self.client.query(
                    """
                    INSERT INTO case_lookup (kind, digest, stream_type, stream_id, subject)
                    SELECT \(kind.rawValue), \(ByteBuffer(bytes: digest)), \(stream.type), \(stream.id), \(subject)
                    WHERE EXISTS (SELECT FROM subject_keys WHERE subject = \(subject) AND wrapped_key IS NOT NULL)
                    ON CONFLICT DO NOTHING
                    """, logger: self.logger)
            }
        }
    }

    /// The cases whose person has this phone number or national ID (none once the person is erased).
    public func lookup(_ value: String, as kind: CaseLookup.Kind) async throws -> [StreamName] {
        guard let digest = CaseLookup.digest(value, as: kind, key: self.lookupKey) else { return [] }
        let rows = try await self.client.query(
            """
            SELECT stream_type, stream_id FROM case_lookup
            WHERE kind = \(kind.rawValue) AND digest = \(ByteBuffer(bytes: digest))
            """, logger: self.logger)
        var found: [StreamName] = []
        for try await (type, id) in rows.decode((String, String).self) { found.append(StreamName(type: type, id: id)) }
        return found
    }
}
