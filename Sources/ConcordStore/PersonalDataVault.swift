import ConcordCore
import Crypto
import Foundation
import Logging
import PostgresNIO

/// Seals data subjects' personal objects before they are appended and opens them for the readers that may see
/// them. Data keys live in `subject_keys`, wrapped by the master key, which only this process's memory holds.
/// Projections, verification and exports read the log without the vault: they see the sealed form.
public struct PersonalDataVault: Sendable {
    let client: PostgresClient
    /// The master key's bytes (Crypto's `SymmetricKey` is not `Sendable`).
    let masterBytes: [UInt8]
    let logger: Logger

    var master: SymmetricKey { SymmetricKey(data: self.masterBytes) }

    public enum VaultError: Error, Equatable, Sendable, CustomStringConvertible {
        case wrongMasterKey
        case subjectErased(String)
        /// Sealed data whose subject has no key row at all.
        case missingKey

        public var description: String {
            switch self {
            case .wrongMasterKey:
                "the master key does not match the one this database's personal data is sealed with"
            case .subjectErased(let subject): "the personal data of subject \(subject) was erased"
            case .missingKey: "sealed personal data refers to a data key the database does not hold"
            }
        }
    }

    private static let probeText = Array("concord-master-key-probe".utf8)

    /// A vault for `master`; `checkMasterKey` first, at start-up.
    public init(client: PostgresClient, master: SymmetricKey, logger: Logger) {
        self.client = client
        self.masterBytes = master.withUnsafeBytes { [UInt8]($0) }
        self.logger = logger
    }

    /// Checks `master` against the database's probe (written on first use): a process given the wrong key refuses
    /// to start rather than seal new data under a key nobody else has. Also finishes erasures that stopped halfway.
    /// `client` is any running client of the database (the vault's own may not run yet).
    public func checkMasterKey(using client: PostgresClient) async throws {
        try await client.query(
            """
            INSERT INTO master_key_probe (id, probe, key_id)
            VALUES (1, \(ByteBuffer(bytes: try Self.probe(self.master))), \(self.keyID))
            ON CONFLICT (id) DO NOTHING
            """, logger: self.logger)
        // A statement of its own: it sees the row whichever process wrote it first.
        guard let found = try await self.storedProbe(using: client), Self.opens(found.probe, with: self.master)
        else { throw VaultError.wrongMasterKey }
        if found.keyID == nil {
            try await client.query(
                "UPDATE master_key_probe SET key_id = \(self.keyID) WHERE id = 1 AND key_id IS NULL",
                logger: self.logger)
        }
        try await DataSubjects.finishErasures(client: client, logger: self.logger)
    }

    /// The same check for a reader (`audit export --unseal`), writing nothing: refuses a key that does not open
    /// the probe; a database without one has nothing sealed.
    public func verifyMasterKey(using client: PostgresClient) async throws {
        if let found = try await self.storedProbe(using: client), !Self.opens(found.probe, with: self.master) {
            throw VaultError.wrongMasterKey
        }
    }

    private func storedProbe(using client: PostgresClient) async throws -> (probe: [UInt8], keyID: String?)? {
        let rows = try await client.query(
            "SELECT probe, key_id FROM master_key_probe WHERE id = 1", logger: self.logger)
        for try await (probe, keyID) in rows.decode((ByteBuffer, String?).self) { return (Array(buffer: probe), keyID) }
        return nil
    }

    /// Names the master key without revealing it: the first 16 hex digits of its SHA-256.
    var keyID: String { String(Array(SHA256.hash(data: self.masterBytes)).hexString.prefix(16)) }

    /// Re-wraps every live data key, and the probe, under `newMaster`, in one transaction; returns how many keys.
    /// Needs the owner's connection (the service role may not change the probe). New data keys are blocked while it
    /// runs, and a process still running with the old key afterwards cannot make any (`concord_data_key` checks the
    /// key id): restart every process with the new key.
    public func rotateMasterKey(to newMaster: SymmetricKey, using client: PostgresClient) async throws -> Int {
        let newVault = PersonalDataVault(client: client, master: newMaster, logger: self.logger)
        return try await client.withConnection { connection in
            try await connection.withCheckedTransaction(logger: self.logger) { connection in
                try await connection.execute("LOCK TABLE subject_keys IN EXCLUSIVE MODE", logger: self.logger)
                let probes = try await connection.query(
                    "SELECT probe FROM master_key_probe WHERE id = 1 FOR UPDATE", logger: self.logger)
                var opens = false
                for try await probe in probes.decode(ByteBuffer.self) {
                    opens = Self.opens(Array(buffer: probe), with: self.master)
                }
                guard opens else { throw VaultError.wrongMasterKey }
                let rows = try await connection.query(
                    "SELECT subject, wrapped_key FROM subject_keys WHERE wrapped_key IS NOT NULL", logger: self.logger)
                var subjects: [String] = []
                var wrapped: [ByteBuffer] = []
                for try await (subject, old) in rows.decode((String, ByteBuffer).self) {
                    let key = try self.unwrap(Array(buffer: old), subject: subject)
                    subjects.append(subject)
                    wrapped.append(
                        ByteBuffer(bytes: try PersonalData.wrap(key, subject: subject, master: newVault.master)))
                }
                try await connection.execute(
                    """
                    UPDATE subject_keys k SET wrapped_key = u.wrapped
                    FROM unnest(\(subjects)::text[], \(wrapped)::bytea[]) AS u(subject, wrapped)
                    WHERE k.subject = u.subject
                    """, logger: self.logger)
                try await connection.execute(
                    """
                    UPDATE master_key_probe
                    SET probe = \(ByteBuffer(bytes: try Self.probe(newVault.master))), key_id = \(newVault.keyID),
                        created_at = now()
                    WHERE id = 1
                    """, logger: self.logger)
                return subjects.count
            }
        }
    }

    private static func probe(_ master: SymmetricKey) throws -> [UInt8] {
        [UInt8](try AES.GCM.seal(Self.probeText, using: master).combined ?? Data())
    }

    private static func opens(_ probe: [UInt8], with master: SymmetricKey) -> Bool {
        guard let box = try? AES.GCM.SealedBox(combined: probe) else { return false }
        return (try? AES.GCM.open(box, using: master)).map([UInt8].init) == Self.probeText
    }

    /// `events`, about to be appended to `stream`, with every clear personal object sealed under its subject's
    /// key: the subject the object names (a follow-up of an earlier case), otherwise the new stream's id. Their free
    /// texts (`FreeText.members`) are sealed under the case's subject: `subject` (the case's, when it exists
    /// already) or the one the creating event names; an anonymous case's texts stay clear.
    public func seal(
        _ events: [EventData], stream: StreamName, subject known: String? = nil
    ) async throws -> (events: [EventData], keys: DataKeys) {
        var sealed = events
        var keys = DataKeys()
        for index in sealed.indices {
            guard let member = PersonalData.members[sealed[index].type],
                case .object(var payload) = sealed[index].payload, let object = payload[member],
                PersonalData.form(of: object) == .clear
            else { continue }
            let subject = object["subject"]?.stringValue ?? stream.id
            let key = try await self.key(for: subject, keys: &keys)
            payload[member] = try PersonalData.seal(object, subject: subject, key: key)
            sealed[index].payload = .object(payload)
        }
        guard let subject = FreeText.subject(of: events, known: known, streamID: stream.id) else {
            return (sealed, keys)
        }
        for index in sealed.indices where FreeText.members[sealed[index].type] != nil {
            let key = try await self.textKey(for: subject, keys: &keys)
            sealed[index].payload = try FreeText.mapping(sealed[index].payload, type: sealed[index].type) { value in
                guard value.stringValue != nil else { return value }
                // The person was erased: what is written about them now is erased with them, and the case moves on.
                guard let key, let text = value.stringValue else { return PersonalData.erased(subject: subject) }
                return try FreeText.seal(text, subject: subject, key: key)
            }
        }
        return (sealed, keys)
    }

    /// The key that seals texts about `subject`; nil when the subject was erased.
    private func textKey(for subject: String, keys: inout DataKeys) async throws -> SymmetricKey? {
        do {
            return try await self.key(for: subject, keys: &keys)
        } catch VaultError.subjectErased {
            return nil
        }
    }

    /// The subject's key, from those this request holds, else made or looked up (and then held).
    private func key(for subject: String, keys: inout DataKeys) async throws -> SymmetricKey {
        if let bytes = keys.bytes[subject] { return SymmetricKey(data: bytes) }
        let key = try await self.key(for: subject)
        keys.bytes[subject] = key.withUnsafeBytes { [UInt8]($0) }
        return key
    }

    /// Data keys a request already holds (those it just sealed with), so that answering it needs no second lookup.
    public struct DataKeys: Sendable {
        var bytes: [String: [UInt8]] = [:]
        public init() {}
    }

    /// `events` with every sealed personal object and free text opened, or shown as erased
    /// (`PersonalData.erased`) when its subject's key is destroyed.
    public func unseal(_ events: [RecordedEvent], known: DataKeys = DataKeys()) async throws -> [RecordedEvent] {
        var opened = events
        var keys = known
        var destroyed: Set<String> = []
        for index in opened.indices {
            let type = opened[index].type
            var payload = opened[index].payload
            if let member = PersonalData.members[type], case .object(var members) = payload,
                let object = members[member], case .sealed(let subject, let bytes) = PersonalData.form(of: object)
            {
                let key = try await self.openingKey(subject, keys: &keys, destroyed: &destroyed)
                members[member] =
                    try key.map { try PersonalData.open(bytes, subject: subject, key: $0) }
                    ?? PersonalData.erased(subject: subject)
                payload = .object(members)
            }
            if FreeText.members[type] != nil {
                payload = try await self.openTexts(payload, type: type, keys: &keys, destroyed: &destroyed)
            }
            opened[index].payload = payload
        }
        return opened
    }

    private func openTexts(
        _ payload: JSONValue, type: String, keys: inout DataKeys, destroyed: inout Set<String>
    ) async throws -> JSONValue {
        guard let names = FreeText.members[type], case .object(var members) = payload else { return payload }
        for name in names {
            guard let value = members[name], case .sealed(let subject, let bytes) = PersonalData.form(of: value)
            else { continue }
            let key = try await self.openingKey(subject, keys: &keys, destroyed: &destroyed)
            members[name] =
                try key.map { .string(try FreeText.open(bytes, subject: subject, key: $0)) }
                ?? PersonalData.erased(subject: subject)
        }
        return .object(members)
    }

    /// The key that opens `subject`'s data, nil when it was destroyed; each subject is looked up once per call.
    private func openingKey(
        _ subject: String, keys: inout DataKeys, destroyed: inout Set<String>
    ) async throws -> SymmetricKey? {
        if let bytes = keys.bytes[subject] { return SymmetricKey(data: bytes) }
        if destroyed.contains(subject) { return nil }
        guard let key = try await self.existingKey(for: subject) else {
            destroyed.insert(subject)
            return nil
        }
        keys.bytes[subject] = key.withUnsafeBytes { [UInt8]($0) }
        return key
    }

    /// The subject's data key, made (and stored wrapped) when the subject has none yet (`concord_data_key`).
    private func key(for subject: String) async throws -> SymmetricKey {
        let fresh = SymmetricKey(size: .bits256)
        let wrapped = try PersonalData.wrap(fresh, subject: subject, master: self.master)
        let rows = try await self.client.query(
            "SELECT concord_data_key(\(subject), \(ByteBuffer(bytes: wrapped)), \(self.keyID))", logger: self.logger)
        for try await stored in rows.decode(ByteBuffer?.self) {
            guard let stored else { break }
            return try self.unwrap(Array(buffer: stored), subject: subject)
        }
        throw VaultError.subjectErased(subject)
    }

    /// The subject's key; nil when it was destroyed. A sealed object whose key row is missing (a restore that lost
    /// `subject_keys`) is a fault, not an erasure.
    private func existingKey(for subject: String) async throws -> SymmetricKey? {
        let rows = try await self.client.query(
            "SELECT wrapped_key FROM subject_keys WHERE subject = \(subject)", logger: self.logger)
        for try await stored in rows.decode(ByteBuffer?.self) {
            return try stored.map { try self.unwrap(Array(buffer: $0), subject: subject) }
        }
        throw VaultError.missingKey
    }

    private func unwrap(_ wrapped: [UInt8], subject: String) throws -> SymmetricKey {
        do {
            return try PersonalData.unwrap(wrapped, subject: subject, master: self.master)
        } catch {
            throw VaultError.wrongMasterKey
        }
    }
}

extension PersonalDataVault {
    /// The master key from the environment: `CONCORD_MASTER_KEY_FILE` (a file holding the key) or
    /// `CONCORD_MASTER_KEY`; either holds 64 hex digits or the base64 of 32 bytes (`concord subject keygen`).
    public static func masterKey(environment: [String: String]) throws -> SymmetricKey {
        let text: String
        if let path = environment["CONCORD_MASTER_KEY_FILE"], !path.isEmpty {
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw MasterKeyError("cannot read the master key file named by CONCORD_MASTER_KEY_FILE")
            }
            text = contents
        } else if let value = environment["CONCORD_MASTER_KEY"], !value.isEmpty {
            text = value
        } else {
            throw MasterKeyError(
                "no master key: set CONCORD_MASTER_KEY_FILE (or CONCORD_MASTER_KEY); personal data is sealed with it")
        }
        guard let key = PersonalData.masterKey(text: text) else {
            throw MasterKeyError("the master key must be 64 hex digits or the base64 of 32 bytes")
        }
        return key
    }

    /// A new master key's text form.
    public static func newMasterKeyText() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }
}

/// A missing or malformed master key: a start-up error with a one-line message.
public struct MasterKeyError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
