import ConcordCore
import ConcordOutbox
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// A stand-in SMS gateway that really listens on a loopback port and speaks the send APIs of Africa's Talking
/// (`POST /version1/messaging`) and Twilio (`POST /2010-04-01/Accounts/{sid}/Messages.json`). It records every
/// request, takes a message once per idempotency key (as Twilio does), and can be told to fail or refuse.
final class StubGateway: Sendable {
    struct Received: Sendable {
        var to: String
        var text: String
        var key: String?
        var at: ContinuousClock.Instant
    }

    private struct State {
        var attempts: [Received] = []
        var accepted: [String: Received] = [:]
        var acceptedInOrder: [Received] = []
        var failuresLeft = 0
        var refuseWith: String? = nil
    }

    private let state = Mutex(State())
    let port: Int
    private let task: Task<Void, any Error>

    /// Every request that reached it, accepted or not.
    var attempts: [Received] { self.state.withLock { $0.attempts } }
    /// The messages it took, once per idempotency key, in order.
    var messages: [Received] { self.state.withLock { $0.acceptedInOrder } }

    /// The next `count` requests are answered 500.
    func fail(next count: Int) { self.state.withLock { $0.failuresLeft = count } }
    /// Every request is refused with Africa's Talking's `statusCode` 403 and this status text.
    func refuse(with status: String?) { self.state.withLock { $0.refuseWith = status } }

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    func stop() { self.task.cancel() }

    static func start() async throws -> StubGateway {
        let box = Mutex<StubGateway?>(nil)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let router = Router()
        router.post("version1/messaging") { request, _ in
            let fields = try await Self.form(request)
            let answer = box.withLock { $0 }?.take(
                to: fields["to"] ?? "", text: fields["message"] ?? "", key: request.headers[.idempotencyKey])
            return Self.africasTalking(answer)
        }
        router.post("2010-04-01/Accounts/:sid/Messages.json") { request, _ in
            let fields = try await Self.form(request)
            let answer = box.withLock { $0 }?.take(
                to: fields["To"] ?? "", text: fields["Body"] ?? "", key: request.headers[.twilioIdempotency])
            switch answer {
            case .accepted(let id):
                return Self.json(#"{"sid":"\#(id)","status":"queued"}"#, status: .created)
            case .failed: return Self.json(#"{"message":"try later"}"#, status: .internalServerError)
            case .refused(let reason):
                return Self.json(#"{"code":21211,"message":"\#(reason ?? "")"}"#, status: .badRequest)
            case .none: return Self.json("{}", status: .internalServerError)
            }
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        let stub = StubGateway(port: port, task: task)
        box.withLock { $0 = stub }
        return stub
    }

    enum Taken { case accepted(String), failed, refused(String?) }

    private func take(to: String, text: String, key: String?) -> Taken {
        self.state.withLock { state in
            let received = Received(to: to, text: text, key: key, at: .now)
            state.attempts.append(received)
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                return .failed
            }
            if let reason = state.refuseWith { return .refused(reason) }
            let dedupe = key ?? UUID().uuidString
            if state.accepted[dedupe] == nil {
                state.accepted[dedupe] = received
                state.acceptedInOrder.append(received)
            }
            return .accepted("STUB-\(abs(dedupe.hashValue))")
        }
    }

    private static func africasTalking(_ taken: Taken?) -> Response {
        switch taken {
        case .accepted(let id):
            return Self.json(
                #"{"SMSMessageData":{"Message":"Sent to 1/1","Recipients":[{"statusCode":101,"number":"x","#
                    + #""status":"Success","cost":"KES 0.8","messageId":"\#(id)"}]}}"#, status: .created)
        case .failed: return Self.json("{}", status: .internalServerError)
        case .refused(let reason):
            return Self.json(
                #"{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[{"statusCode":403,"number":"x","#
                    + #""status":"\#(reason ?? "")","cost":"0","messageId":"None"}]}}"#, status: .created)
        case .none: return Self.json("{}", status: .internalServerError)
        }
    }

    private static func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 1 << 16)
        let fields = FormEncoding.decode(String(buffer: body)) ?? []
        return Dictionary(fields, uniquingKeysWith: { $1 })
    }

    private static func json(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let twilioIdempotency = Self("I-Twilio-Idempotency-Token")!
    static let twilioSignature = Self("X-Twilio-Signature")!
    static let concordSecret = Self("X-Concord-Secret")!
}
