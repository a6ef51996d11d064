import Crypto
import Foundation

/// A data subject's personal details in an event, as a reader holds them: in clear, or withheld. Withheld is the
/// stored form when the reader has no key (`{"subject": id, "sealed": base64}`) or when the subject's key was
/// destroyed (`{"subject": id, "erased": true}`); it is kept exactly as stored, so re-encoding changes no byte.
public enum Personal<Value: Sendable & Hashable>: Sendable, Hashable {
    case clear(Value)
    case withheld(JSONValue)

    public var clear: Value? {
        guard case .clear(let value) = self else { return nil }
        return value
    }

    func payload(_ encode: (Value) -> JSONValue) -> JSONValue {
        switch self {
        case .clear(let value): encode(value)
        case .withheld(let stored): stored
        }
    }

    /// The object `key` of `reader`: withheld when it is a sealed or erased form, otherwise read as `Value`.
    static func read(
        _ key: String, from reader: PayloadReader, _ readClear: (PayloadReader) throws(EventPayloadError) -> Value
    ) throws(EventPayloadError) -> Personal? {
        guard let nested = try reader.optionalObject(key), let stored = reader.members[key] else { return nil }
        switch PersonalData.form(of: stored) {
        case .clear: return .clear(try readClear(nested))
        case .sealed, .erased: return .withheld(stored)
        case .malformed(let reason): throw reader.error(key, reason)
        }
    }
}

/// Personal data sealing: each data subject has a data key (AES-256-GCM) that seals their personal objects; data
/// keys are stored wrapped by the master key. The chain hashes what is stored (the sealed form), so verification
/// never needs a key, and destroying a subject's data key erases their details from every copy of the log.
public enum PersonalData {
    /// The member holding a data subject's details, by the event type that records them.
    public static let members: [String: String] = [
        "ComplaintLodged": "complainant", "AppealLodged": "appellant", "ReferralCreated": "person",
    ]

    /// The forms a personal object takes in a payload.
    public enum Form: Equatable, Sendable {
        case clear
        case sealed(subject: String, sealed: [UInt8])
        case erased(subject: String)
        case malformed(String)
    }

    public static func form(of object: JSONValue) -> Form {
        guard case .object(let members) = object else { return .malformed("must be a JSON object") }
        let subject = members["subject"]?.stringValue
        if let sealed = members["sealed"] {
            guard let subject, members.count == 2, let text = sealed.stringValue,
                let bytes = Data(base64Encoded: text)
            else { return .malformed("a sealed form has exactly a subject and base64 sealed bytes") }
            return .sealed(subject: subject, sealed: [UInt8](bytes))
        }
        if let erased = members["erased"] {
            guard let subject, members.count == 2, erased == .bool(true) else {
                return .malformed("an erased form has exactly a subject and erased: true")
            }
            return .erased(subject: subject)
        }
        return .clear
    }

    /// What views, exports and replays show once the subject's key is destroyed.
    public static func erased(subject: String) -> JSONValue {
        .object(["subject": .string(subject), "erased": true])
    }

    public enum SealError: Error, Equatable, Sendable {
        /// The bytes were not sealed with this key for this subject, or were changed since.
        case cannotOpen
    }

    /// Seals a clear personal object for `subject`: AES-GCM over its canonical bytes (without `subject`), with the
    /// subject as associated data so that sealed bytes cannot be moved to another subject. `nonce` is for the
    /// documented test vector only: every real seal takes a fresh random nonce.
    public static func seal(
        _ object: JSONValue, subject: String, key: SymmetricKey, nonce: AES.GCM.Nonce = AES.GCM.Nonce()
    ) throws -> JSONValue {
        var members = JSONObject()
        if case .object(let all) = object { members = all }
        members["subject"] = nil
        let box = try AES.GCM.seal(
            CanonicalJSON.encode(.object(members)), using: key, nonce: nonce, authenticating: Array(subject.utf8))
        guard let combined = box.combined else { throw SealError.cannotOpen }
        return .object(["subject": .string(subject), "sealed": .string(combined.base64EncodedString())])
    }

    /// The clear object of a sealed form, with its `subject`.
    public static func open(_ sealed: [UInt8], subject: String, key: SymmetricKey) throws -> JSONValue {
        let clear: Data
        do {
            clear = try AES.GCM.open(
                AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Array(subject.utf8))
        } catch {
            throw SealError.cannotOpen
        }
        guard case .object(var members)? = try? JSONParser.parse(clear) else { throw SealError.cannotOpen }
        members["subject"] = .string(subject)
        return .object(members)
    }

    /// A data key wrapped by the master key; bound to its subject.
    public static func wrap(_ key: SymmetricKey, subject: String, master: SymmetricKey) throws -> [UInt8] {
        let bytes = key.withUnsafeBytes { [UInt8]($0) }
        let box = try AES.GCM.seal(bytes, using: master, authenticating: Self.keyContext(subject))
        guard let combined = box.combined else { throw SealError.cannotOpen }
        return [UInt8](combined)
    }

    public static func unwrap(_ wrapped: [UInt8], subject: String, master: SymmetricKey) throws -> SymmetricKey {
        do {
            let bytes = try AES.GCM.open(
                AES.GCM.SealedBox(combined: wrapped), using: master, authenticating: Self.keyContext(subject))
            return SymmetricKey(data: bytes)
        } catch {
            throw SealError.cannotOpen
        }
    }

    private static func keyContext(_ subject: String) -> [UInt8] { Array("concord-data-key:\(subject)".utf8) }

    /// A master key from its text form: 64 hex digits or the base64 of 32 bytes.
    public static func masterKey(text: String) -> SymmetricKey? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let bytes = [UInt8](hex: trimmed), bytes.count == 32 { return SymmetricKey(data: bytes) }
        if let data = Data(base64Encoded: trimmed), data.count == 32 { return SymmetricKey(data: data) }
        return nil
    }
}
