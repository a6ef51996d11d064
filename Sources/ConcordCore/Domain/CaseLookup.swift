import Crypto
import Foundation

/// Finding a case by the person's phone number or national ID without keeping either: the index holds an
/// HMAC-SHA256 of the normalised value, under a key derived (HKDF-SHA256) from the master key, which the database
/// never holds. Equal values give equal digests, so a search finds the cases; the digests alone say nothing.
public enum CaseLookup {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case phone
        case nationalID = "national_id"
    }

    /// The value as it is compared: a phone number's digits, with a leading `+` kept; a national ID in upper case
    /// without spaces or dashes. Nil when nothing is left.
    public static func normalise(_ value: String, as kind: Kind) -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        let normalised: String
        switch kind {
        case .phone:
            let digits = String(trimmed.unicodeScalars.filter { ("0"..."9").contains($0) })
            normalised = (trimmed.hasPrefix("+") && !digits.isEmpty ? "+" : "") + digits
        case .nationalID:
            normalised = trimmed.uppercased().filter { !$0.isWhitespace && $0 != "-" }
        }
        return normalised.isEmpty || normalised == "+" ? nil : normalised
    }

    /// The key the digests are made with, derived from the master key.
    public static func key(master: SymmetricKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, salt: Array("concord".utf8), info: Array("concord-case-lookup-v1".utf8),
            outputByteCount: 32)
    }

    /// The digest of `value` (nil when it normalises to nothing); the kind is part of what is hashed, so a phone
    /// number never matches a national ID.
    public static func digest(_ value: String, as kind: Kind, key: SymmetricKey) -> [UInt8]? {
        guard let normalised = Self.normalise(value, as: kind) else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(kind.rawValue):\(normalised)".utf8), using: key)
        return Array(mac)
    }

    /// The values to index from an event's clear personal object: its phone and national ID, with its subject.
    public static func values(type: String, payload: JSONValue) -> (subject: String, values: [(Kind, String)])? {
        guard let member = PersonalData.members[type], let object = payload[member],
            PersonalData.form(of: object) == .clear, let subject = object["subject"]?.stringValue
        else { return nil }
        var values: [(Kind, String)] = []
        if let phone = object["phone"]?.stringValue { values.append((.phone, phone)) }
        if let id = object["national_id"]?.stringValue { values.append((.nationalID, id)) }
        return values.isEmpty ? nil : (subject, values)
    }
}
