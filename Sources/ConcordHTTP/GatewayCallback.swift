import ConcordOutbox
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// A gateway's callback (an inbound SMS, a delivery report, a USSD step): its form fields, read only once its
/// origin is proven. Africa's Talking and RapidPro prove it with the shared secret in the callback URL (`?secret=`)
/// or the `X-Concord-Secret` header; Twilio with `X-Twilio-Signature`, the base64 HMAC-SHA1, keyed by the auth
/// token, of the full URL followed by each form field's name and value sorted by name. An unsigned request is
/// refused with 401, a badly signed one with 403; both are logged and write nothing.
struct GatewayCallback {
    let fields: [(String, String)]

    subscript(name: String) -> String? { self.fields.first { $0.0 == name }?.1 }

    enum Proof {
        case sharedSecret(String?)
        case twilio(authToken: String?, publicURL: String?)
    }

    static let limit = 16 * 1024

    static func read(
        _ request: Request, proof: Proof, gateway: String, context: ConcordRequestContext, logger: Logger
    ) async throws -> GatewayCallback {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.limit)
        } catch {
            throw Problem(
                status: .contentTooLarge, title: "Body too large",
                detail: "a callback may hold at most \(Self.limit) bytes")
        }
        guard let fields = FormEncoding.decode(String(decoding: buffer.readableBytesView, as: UTF8.self)) else {
            throw Problem(
                status: .badRequest, title: "Malformed form",
                detail: "send the fields as application/x-www-form-urlencoded", field: "body")
        }
        if let refusal = Self.refusal(request, fields: fields, proof: proof, gateway: gateway) {
            logger.warning(
                "gateway callback refused",
                metadata: [
                    "gateway": "\(gateway)", "path": "\(request.uri.path)", "reason": "\(refusal.detail)",
                    "client": "\(context.remoteAddress?.ipAddress ?? "unknown")",
                ])
            throw refusal
        }
        return GatewayCallback(fields: fields)
    }

    /// Why the request is not proven to come from the gateway; nil when it is.
    static func refusal(_ request: Request, fields: [(String, String)], proof: Proof, gateway: String) -> Problem? {
        switch proof {
        case .sharedSecret(let expected):
            guard let expected else { return Self.notConfigured(gateway) }
            let given =
                Self.header("x-concord-secret", in: request)
                ?? request.uri.queryParameters["secret"]
                .map(String.init)
            guard let given, !given.isEmpty else {
                return Problem(
                    status: .unauthorized, title: "Unsigned callback",
                    detail: "a callback from \(gateway) carries the shared secret (?secret= or X-Concord-Secret)",
                    field: "secret")
            }
            // Digests compare in constant time: the comparison does not tell how much of a guess was right.
            guard SHA256.hash(data: Data(given.utf8)) == SHA256.hash(data: Data(expected.utf8)) else {
                return Problem(
                    status: .forbidden, title: "Wrong secret", detail: "the shared secret does not match",
                    field: "secret")
            }
            return nil
        case .twilio(let token, let publicURL):
            guard let token else { return Self.notConfigured(gateway) }
            guard let signature = Self.header("x-twilio-signature", in: request),
                let bytes = Data(base64Encoded: signature)
            else {
                return Problem(
                    status: .unauthorized, title: "Unsigned callback",
                    detail: "a callback from Twilio carries X-Twilio-Signature", field: "X-Twilio-Signature")
            }
            let base = publicURL ?? "http://\(request.head.authority ?? "")"
            let url = base + request.uri.description
            let signed = url + fields.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
            let valid = HMAC<Insecure.SHA1>.isValidAuthenticationCode(
                bytes, authenticating: Data(signed.utf8), using: SymmetricKey(data: Data(token.utf8)))
            guard valid else {
                return Problem(
                    status: .forbidden, title: "Bad signature",
                    detail: "X-Twilio-Signature does not match this URL and these fields", field: "X-Twilio-Signature")
            }
            return nil
        }
    }

    /// The value of the header named `name` (lowercase).
    static func header(_ name: String, in request: Request) -> String? {
        request.headers.first { $0.name.canonicalName == name }?.value
    }

    static func notConfigured(_ gateway: String) -> Problem {
        Problem(
            status: .forbidden, title: "Gateway not configured",
            detail: "this service takes no callbacks from \(gateway): its secret is not configured")
    }

    /// A required field, or 400 naming it.
    func required(_ name: String) throws -> String {
        guard let value = self[name], !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Problem(status: .badRequest, title: "Missing field", detail: "\(name) is required", field: name)
        }
        return value
    }
}
