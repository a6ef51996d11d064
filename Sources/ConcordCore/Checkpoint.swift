import Crypto
import Foundation

/// A signed statement that the log's event at `position` has the chain hash `hash`: what auditors keep outside the
/// database. The chain alone cannot show that the tail was cut off, or that an attacker rewrote history and
/// recomputed every hash after it; a checkpoint signed with a key the operators' database never holds can.
public struct Checkpoint: Sendable, Hashable {
    public var position: Int64
    public var hash: [UInt8]
    public var at: Timestamp
    /// The first 16 hex digits of the SHA-256 of the public key: which key signed it.
    public var keyID: String
    /// Ed25519 over `message`.
    public var signature: [UInt8]

    public static let eventType = "CheckpointSigned"
    public static let streamType = "checkpoint"

    /// The signed bytes: `concord-checkpoint-v1`, position, lowercase hex hash and time, each on its own line.
    public static func message(position: Int64, hash: [UInt8], at: Timestamp) -> [UInt8] {
        Array("concord-checkpoint-v1\n\(position)\n\(hash.hexString)\n\(at.rfc3339)\n".utf8)
    }

    public static func keyID(of key: Curve25519.Signing.PublicKey) -> String {
        String(Array(SHA256.hash(data: key.rawRepresentation)).hexString.prefix(16))
    }

    /// Signs the head `position`/`hash` at `at`.
    public static func sign(
        position: Int64, hash: [UInt8], at: Timestamp, key: Curve25519.Signing.PrivateKey
    ) throws -> Checkpoint {
        let signature = try key.signature(for: Self.message(position: position, hash: hash, at: at))
        return Checkpoint(
            position: position, hash: hash, at: at, keyID: Self.keyID(of: key.publicKey), signature: Array(signature))
    }

    /// Whether `key` signed exactly this position, hash and time.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        key.isValidSignature(self.signature, for: Self.message(position: self.position, hash: self.hash, at: self.at))
    }

    /// The JSON form: the payload of a `CheckpointSigned` event and the file auditors keep.
    public var json: JSONValue {
        .object([
            "position": .integer(self.position), "hash": .string(self.hash.hexString), "at": .string(self.at.rfc3339),
            "key_id": .string(self.keyID), "signature": .string(Data(self.signature).base64EncodedString()),
        ])
    }

    public init(position: Int64, hash: [UInt8], at: Timestamp, keyID: String, signature: [UInt8]) {
        self.position = position
        self.hash = hash
        self.at = at
        self.keyID = keyID
        self.signature = signature
    }

    /// Reads the JSON form; nil for anything else.
    public init?(json: JSONValue) {
        guard let position = json["position"]?.integerValue, let hex = json["hash"]?.stringValue,
            let hash = [UInt8](hex: hex), hash.count == 32, let time = json["at"]?.stringValue,
            let at = Timestamp(rfc3339: time), let keyID = json["key_id"]?.stringValue,
            let signature = json["signature"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
        else { return nil }
        self.init(position: position, hash: hash, at: at, keyID: keyID, signature: Array(signature))
    }

    /// What a log whose event at `position` has hash `stored` (nil when the log has no such position; `head` is
    /// its last position) says about this checkpoint: nil when it still holds the vouched-for prefix unchanged.
    public func problem(storedHash stored: [UInt8]?, head: Int64) -> String? {
        guard let stored else {
            return "the log ends at position \(head), but a checkpoint signed at \(self.at.rfc3339) vouches for "
                + "position \(self.position): events were removed from its tail"
        }
        guard stored == self.hash else {
            return "position \(self.position) has hash \(stored.hexString), but the checkpoint signed at "
                + "\(self.at.rfc3339) says \(self.hash.hexString): history up to it was rewritten"
        }
        return nil
    }
}

/// Key files: the raw 32-byte key in base64 on one line.
public enum CheckpointKeys {
    public static func privateKey(file: String) throws -> Curve25519.Signing.PrivateKey {
        try Curve25519.Signing.PrivateKey(rawRepresentation: try Self.read(file, what: "private"))
    }

    public static func publicKey(file: String) throws -> Curve25519.Signing.PublicKey {
        try Curve25519.Signing.PublicKey(rawRepresentation: try Self.read(file, what: "public"))
    }

    private static func read(_ file: String, what: String) throws -> Data {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw CheckpointKeyError(message: "cannot read the \(what) checkpoint key file \(file)")
        }
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32
        else {
            throw CheckpointKeyError(message: "\(file) is not a \(what) checkpoint key (32 bytes in base64)")
        }
        return data
    }
}

public struct CheckpointKeyError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}

extension Array where Element == UInt8 {
    /// Bytes from lowercase or uppercase hex; nil for anything else.
    public init?(hex: String) {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        self = bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
