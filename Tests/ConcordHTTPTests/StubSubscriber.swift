import ConcordCore
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A partner's webhook receiver, really listening on a loopback port: records each delivery and answers 204, or 503
/// while told to fail.
final class StubSubscriber: Sendable {
    struct Delivery: Sendable {
        var id: String
        var timestamp: String
        var signature: String
        var contentType: String
        var body: [UInt8]
        var json: JSONValue { (try? JSONParser.parse(self.body)) ?? .null }
        var subject: String? { self.json["subject"]?.stringValue }
    }

    private let state = Mutex<(delivered: [Delivery], refused: Int, failing: Bool)>(([], 0, false))

    var delivered: [Delivery] { self.state.withLock { $0.delivered } }
    var refused: Int { self.state.withLock { $0.refused } }
    func fail(_ failing: Bool) { self.state.withLock { $0.failing = failing } }

    /// Runs `body` with the receiver listening; its URL is `http://127.0.0.1:<port>/hook`.
    func listening(_ body: @Sendable (_ url: String) async throws -> Void) async throws {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let bytes = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            func header(_ name: String) -> String {
                request.headers.first { $0.name.canonicalName == name }?.value ?? ""
            }
            let delivery = Delivery(
                id: header("webhook-id"), timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"), contentType: header("content-type"), body: bytes)
            let failing = self.state.withLock { state -> Bool in
                if state.failing {
                    state.refused += 1
                } else {
                    state.delivered.append(delivery)
                }
                return state.failing
            }
            return Response(status: failing ? .serviceUnavailable : .noContent)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)/hook")
        }
    }

    /// Whether `delivery` carries a Standard Webhooks signature made with `secret`, recomputed here from the
    /// published algorithm: base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}", keyed with the base64 after
    /// `whsec_`, as one of the space-separated `v1,` entries.
    static func verifies(_ delivery: Delivery, secret: String) -> Bool {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))) else {
            return false
        }
        let message = Data("\(delivery.id).\(delivery.timestamp).".utf8) + Data(delivery.body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        let expected = "v1," + Data(mac).base64EncodedString()
        return delivery.signature.split(separator: " ").contains { $0 == expected }
    }
}
