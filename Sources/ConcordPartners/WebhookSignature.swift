import Crypto
import Foundation

/// Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` holds, space-separated,
/// `v1,` + base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` with each current secret; a secret
/// is `whsec_` + base64 of its key bytes.
public enum WebhookSignature {
    public static let secretPrefix = "whsec_"

    /// A new secret: 32 random bytes.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Self.secretPrefix + Data(bytes).base64EncodedString()
    }

    /// The key bytes of a secret; nil when it is not `whsec_` + base64.
    public static func key(of secret: String) -> [UInt8]? {
        guard secret.hasPrefix(Self.secretPrefix) else { return nil }
        return Data(base64Encoded: String(secret.dropFirst(Self.secretPrefix.count))).map { Array($0) }
    }

    /// `v1,<base64 signature>` of one message with one secret; nil for a malformed secret.
    public static func sign(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String? {
        guard let key = Self.key(of: secret) else { return nil }
        var message = Array("\(id).\(timestamp).".utf8)
        message += body
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        return "v1," + Data(code).base64EncodedString()
    }

    /// The `webhook-signature` header: one signature per secret (two while a rotation overlaps).
    public static func header(secrets: [String], id: String, timestamp: Int64, body: [UInt8]) -> String {
        secrets.compactMap { Self.sign(secret: $0, id: id, timestamp: timestamp, body: body) }.joined(separator: " ")
    }
}
