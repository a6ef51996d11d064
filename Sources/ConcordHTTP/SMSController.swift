import ConcordCore
import ConcordOutbox
import ConcordStore
import Crypto
import Foundation
import Hummingbird
import Logging

/// SMS and USSD from the gateways (docs/api.md, "SMS and USSD"): inbound SMS from Africa's Talking, Twilio and
/// RapidPro's External channel, their delivery reports, and Africa's Talking USSD. An SMS is read with the short
/// grammar (`SMSRequest`): a status question is answered through the gateway's send API; anything else lodges an
/// SMS complaint through the command pipeline, once per gateway message (its id is the idempotency key), with the
/// sender's number as the complainant's only detail (sealed and erasable), and no programme (the area's
/// coordinator triages it). Its acknowledgement is the outbox's, like any other.
struct SMSController: Sendable {
    let settings: SMSSettings?
    let outbox: Outbox?
    let complaints: CaseCommands<Complaint>
    let reference: ReferenceFollower
    let store: EventStore
    /// Where a lodgement's time comes from, as for every command.
    let clock: WallClock
    let logger: Logger

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.post("v1/sms/africastalking") { request, context in
            let form = try await self.callback(request, context, .africastalking)
            return try await self.inbound(
                gateway: "africastalking", from: try form.required("from"), text: form["text"] ?? "",
                messageID: form["id"], date: form["date"])
        }
        router.post("v1/sms/twilio") { request, context in
            let form = try await self.callback(request, context, .twilio)
            _ = try await self.inbound(
                gateway: "twilio", from: try form.required("From"), text: form["Body"] ?? "",
                messageID: form["MessageSid"], date: nil)
            // Twilio reads TwiML; the reply goes out through the send API, so this one says nothing.
            return Response(
                status: .ok, headers: [.contentType: "text/xml"],
                body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>")))
        }
        router.post("v1/sms/rapidpro") { request, context in
            let form = try await self.callback(request, context, .rapidpro)
            return try await self.inbound(
                gateway: "rapidpro", from: try form.required("from"), text: form["text"] ?? "", messageID: form["id"],
                date: form["date"])
        }
        router.post("v1/sms/africastalking/delivery") { request, context in
            let form = try await self.callback(request, context, .africastalking)
            // Success is delivered; Failed and Rejected are final failures; Sent, Submitted, Buffered are on the way.
            let status = try form.required("status")
            guard ["Success", "Failed", "Rejected"].contains(status) else { return Self.json(["recorded": false]) }
            return try await self.report(
                try form.required("id"), delivered: status == "Success", reason: form["failureReason"] ?? status)
        }
        router.post("v1/sms/twilio/delivery") { request, context in
            let form = try await self.callback(request, context, .twilio)
            let status = try form.required("MessageStatus")
            guard ["delivered", "failed", "undelivered"].contains(status) else {
                return Self.json(["recorded": false])
            }
            let reason = form["ErrorCode"].map { "\(status) (error \($0))" } ?? status
            return try await self.report(
                try form.required("MessageSid"), delivered: status == "delivered", reason: reason)
        }
        router.post("v1/ussd/africastalking") { request, context in
            let form = try await self.callback(request, context, .africastalking)
            let answer = try await self.ussd(text: form["text"] ?? "")
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
    }

    enum Source { case africastalking, twilio, rapidpro }

    private func callback(
        _ request: Request, _ context: ConcordRequestContext, _ source: Source
    ) async throws -> GatewayCallback {
        let proof: GatewayCallback.Proof =
            switch source {
            case .africastalking: .sharedSecret(self.settings?.africasTalkingSecret)
            case .rapidpro: .sharedSecret(self.settings?.rapidProSecret)
            case .twilio: .twilio(authToken: self.settings?.twilioAuthToken, publicURL: self.settings?.publicURL)
            }
        return try await GatewayCallback.read(
            request, proof: proof, gateway: "\(source)", context: context, logger: self.logger)
    }

    // MARK: Inbound SMS

    private func inbound(
        gateway: String, from: String, text: String, messageID: String?, date: String?
    ) async throws -> Response {
        guard let settings = self.settings, let outbox = self.outbox else {
            throw GatewayCallback.notConfigured(gateway)
        }
        // A gateway's retry carries the same id; RapidPro sends none, so its message is named by what it says.
        let key = "sms:\(gateway):" + (messageID ?? Self.digest([from, text, date ?? ""]))
        switch SMSRequest.parse(text) {
        case .status(let code, let language):
            let answer = try await self.status(of: code, language: language)
            try await withDatabaseDeadline {
                try await outbox.reply(to: from, text: answer, key: key, language: language)
            }
            return Self.json(["answered": "status"])
        case .empty:
            let help = SMSText.named(settings.language).text("sms.help")
            try await withDatabaseDeadline {
                try await outbox.reply(to: from, text: help, key: key, language: settings.language)
            }
            return Self.json(["answered": "help"])
        case .complaint(let description):
            let lodgement = Complaint.Lodgement(
                channel: .sms, programme: nil, category: .other, description: description, area: settings.area,
                office: settings.office, complainant: .person(PersonDetails(phone: from)), contactPreference: .sms,
                at: self.clock.now())
            let request = CaseCommands<Complaint>.Request(
                sender: .concord, metadata: EventMetadata(actor: "concord:sms:\(gateway)", role: "system"),
                idempotencyKey: key, requestDigest: Array(SHA256.hash(data: Data(key.utf8))))
            let reference = self.reference
            try await withDatabaseDeadline { await reference.ready() }
            let answer = try await Problem.mapping {
                try await withDatabaseDeadline { try await self.complaints.create(.lodge(lodgement), request) }
            }
            return Self.json(["complaint": .string(answer.id)])
        }
    }

    private func report(_ gatewayMessageID: String, delivered: Bool, reason: String?) async throws -> Response {
        guard let outbox = self.outbox else { throw GatewayCallback.notConfigured("this gateway") }
        let recorded = try await withDatabaseDeadline {
            try await outbox.deliveryReport(
                gatewayMessageID: gatewayMessageID, delivered: delivered, reason: delivered ? nil : reason)
        }
        return Self.json(["recorded": .bool(recorded)])
    }

    // MARK: Status and USSD

    /// The status of the case `code` names, in plain words of `language`; what is wrong with the code otherwise.
    func status(of text: String, language: String) async throws -> String {
        let words = SMSText.named(language)
        let code: TrackingCode
        switch TrackingCode.parse(text) {
        case .success(let parsed): code = parsed
        case .failure(.checkFailed): return words.text("sms.mistyped_code", ["code": text])
        case .failure: return words.text("sms.unknown_code", ["code": text])
        }
        let store = self.store
        let view: JSONValue? = try await withDatabaseDeadline {
            switch code.kind {
            case .complaint: try await TrackingController.view(CaseRepository<Complaint>(store: store), code.text)
            case .appeal: try await TrackingController.view(CaseRepository<Appeal>(store: store), code.text)
            case .referral: try await TrackingController.view(CaseRepository<Referral>(store: store), code.text)
            }
        }
        guard let view, let kind = view["kind"]?.stringValue, let status = view["status"]?.stringValue else {
            return words.text("sms.unknown_code", ["code": code.text])
        }
        return words.text("sms.status", ["code": code.text, "status": words.status(kind: kind, status: status)])
    }

    /// One step of the USSD dialogue; `text` is everything typed so far, joined by `*`: a language, then a code.
    func ussd(text: String) async throws -> String {
        guard self.settings != nil else { throw GatewayCallback.notConfigured("africastalking") }
        let steps = text.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard !text.isEmpty, let choice = steps.first else { return "CON " + SMSText.named("en").text("ussd.menu") }
        guard let language = ["1": "en", "2": "fr", "3": "sw"][choice] else {
            return "CON " + SMSText.named("en").text("ussd.menu")
        }
        let words = SMSText.named(language)
        guard steps.count >= 2, !steps[steps.count - 1].isEmpty else { return "CON " + words.text("ussd.enter_code") }
        return "END " + (try await self.status(of: steps[steps.count - 1].uppercased(), language: language))
    }

    static func digest(_ parts: [String]) -> String {
        SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func json(_ members: JSONObject) -> Response {
        JSONResponse.make(.object(members), status: .ok)
    }
}
