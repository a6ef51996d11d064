import AsyncHTTPClient
import Foundation
import NIOCore

/// What a gateway said to one message.
public enum SendOutcome: Sendable, Equatable {
    /// Taken: it will deliver it; its id is what delivery reports name.
    case accepted(gatewayMessageID: String?)
    /// Refused for good (a number it cannot reach, a message it will not take): no retry helps.
    case refused(reason: String)
    /// Failed this time (an outage, a 5xx, a timeout): try again later.
    case failedForNow(reason: String)
}

/// Sends SMS through the configured gateway's send API, with the message's id as the idempotency key where the
/// gateway takes one (Twilio's `I-Twilio-Idempotency-Token`; Africa's Talking takes none, so the header is only
/// informative there).
public struct SMSGateway: Sendable {
    let settings: SMSSettings
    let client: HTTPClient
    let timeout: TimeAmount = .seconds(10)

    public init(settings: SMSSettings, client: HTTPClient = .shared) {
        self.settings = settings
        self.client = client
    }

    public var name: String { self.settings.gateway.rawValue }

    public func send(to phone: String, text: String, idempotencyKey: String) async -> SendOutcome {
        do {
            switch self.settings.gateway {
            case .africastalking: return try await self.sendAfricasTalking(phone, text, idempotencyKey)
            case .twilio: return try await self.sendTwilio(phone, text, idempotencyKey)
            }
        } catch {
            return .failedForNow(reason: "gateway unreachable: \(type(of: error))")
        }
    }

    /// `POST {base}/version1/messaging`, a form (`username`, `to`, `message`, `from`) with the `apiKey` header.
    private func sendAfricasTalking(_ phone: String, _ text: String, _ key: String) async throws -> SendOutcome {
        var fields = [
            ("username", self.settings.africasTalkingUsername ?? ""), ("to", phone), ("message", text),
        ]
        if let from = self.settings.from { fields.append(("from", from)) }
        var request = HTTPClientRequest(url: self.settings.baseURL + "/version1/messaging")
        request.method = .POST
        request.headers.add(name: "apiKey", value: self.settings.africasTalkingAPIKey ?? "")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: key)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        let (status, json) = try await self.execute(request)
        guard (200..<300).contains(status) else { return Self.httpFailure(status, json) }
        // One recipient per message: its statusCode 100-102 means queued or sent; anything else is its reason.
        let recipient = (json?["SMSMessageData"] as? [String: Any])?["Recipients"] as? [[String: Any]]
        guard let first = recipient?.first else {
            let message = (json?["SMSMessageData"] as? [String: Any])?["Message"] as? String
            return .refused(reason: message ?? "no recipient in the gateway's answer")
        }
        let code = first["statusCode"] as? Int ?? 0
        let reason = first["status"] as? String ?? "status \(code)"
        if (100...102).contains(code) { return .accepted(gatewayMessageID: first["messageId"] as? String) }
        // 500-502: the gateway's own trouble; 401-409 and the rest: this message will not go.
        return (500...502).contains(code) ? .failedForNow(reason: reason) : .refused(reason: reason)
    }

    /// `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, a form (`To`, `From`, `Body`) with basic auth.
    private func sendTwilio(_ phone: String, _ text: String, _ key: String) async throws -> SendOutcome {
        let sid = self.settings.twilioAccountSID ?? ""
        var request = HTTPClientRequest(url: self.settings.baseURL + "/2010-04-01/Accounts/\(sid)/Messages.json")
        request.method = .POST
        let credentials = Data("\(sid):\(self.settings.twilioAuthToken ?? "")".utf8).base64EncodedString()
        request.headers.add(name: "Authorization", value: "Basic \(credentials)")
        request.headers.add(name: "I-Twilio-Idempotency-Token", value: key)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let fields = [("To", phone), ("From", self.settings.from ?? ""), ("Body", text)]
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        let (status, json) = try await self.execute(request)
        guard (200..<300).contains(status) else { return Self.httpFailure(status, json) }
        return .accepted(gatewayMessageID: json?["sid"] as? String)
    }

    private func execute(_ request: HTTPClientRequest) async throws -> (Int, [String: Any]?) {
        let response = try await self.client.execute(request, timeout: self.timeout)
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        return (Int(response.status.code), json)
    }

    /// A 4xx (other than 408 and 429) is the message's or the account's fault, and final; the rest may pass later.
    static func httpFailure(_ status: Int, _ json: [String: Any]?) -> SendOutcome {
        let detail = (json?["message"] as? String).map { ": \($0)" } ?? ""
        let reason = "HTTP \(status)\(detail)"
        let final = (400..<500).contains(status) && status != 408 && status != 429
        return final ? .refused(reason: reason) : .failedForNow(reason: reason)
    }
}

/// `application/x-www-form-urlencoded`, both ways: what the gateways send and take.
public enum FormEncoding {
    public static func encode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        }
        return fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    /// The fields of a form body in their order; nil when it is not a form (a byte that cannot be decoded).
    public static func decode(_ body: String) -> [(String, String)]? {
        var fields: [(String, String)] = []
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ part: Substring) -> String? {
                part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = unescape(parts[0]), let value = unescape(parts.count > 1 ? parts[1] : "") else {
                return nil
            }
            fields.append((name, value))
        }
        return fields
    }
}
