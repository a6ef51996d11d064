import ConcordCore
import ConcordHTTP
import ConcordOutbox
import ConcordStore
import ConcordTestSupport
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Reaching people (issue 12): the outbox derived from the log sends through a real stub gateway on a loopback
/// port; inbound SMS and USSD from each gateway format, with their signatures and secrets.
@Suite struct SMSTests {
    static let publicURL = "https://concord.example.org"
    static let twilioToken = "twilio-auth-token"
    static let healthPhone = "+221700000099"

    static func settings(_ stub: StubGateway, gateway: SMSSettings.Gateway = .africastalking) -> SMSSettings {
        var settings = SMSSettings(
            gateway: gateway, baseURL: "http://127.0.0.1:\(stub.port)", office: "OFF-001", area: "D-01",
            contacts: ["HEALTH": Self.healthPhone], retryInitial: .milliseconds(100), retryMaximum: .seconds(1),
            maxAttempts: 6)
        settings.africasTalkingUsername = "sandbox"
        settings.africasTalkingAPIKey = "at-api-key"
        settings.africasTalkingSecret = "at-secret"
        settings.rapidProSecret = "rapidpro-secret"
        settings.twilioAccountSID = "AC123"
        settings.twilioAuthToken = Self.twilioToken
        settings.from = "+15005550006"
        settings.publicURL = Self.publicURL
        return settings
    }

    /// The application over a fresh database with SMS configured, beside a running stub gateway.
    static func withSMS(
        gateway: SMSSettings.Gateway = .africastalking,
        _ body: @Sendable (any TestClientProtocol, StubGateway, DatabaseSettings, Tokens) async throws -> Void
    ) async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let stub = try await StubGateway.start()
        defer { stub.stop() }
        try await withApplication(settings: settings, configure: { $0.sms = Self.settings(stub, gateway: gateway) }) {
            client in try await body(client, stub, settings, tokens)
        }
    }

    static func form(_ fields: [(String, String)]) -> String { FormEncoding.encode(fields) }

    /// Twilio's signature: base64 HMAC-SHA1 of the full URL and the fields sorted by name, keyed by the auth token.
    static func twilioSignature(path: String, _ fields: [(String, String)], token: String = twilioToken) -> String {
        let signed = Self.publicURL + path + fields.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        let code = HMAC<Insecure.SHA1>.authenticationCode(
            for: Data(signed.utf8), using: SymmetricKey(data: Data(token.utf8)))
        return Data(code).base64EncodedString()
    }

    static func post(
        _ client: any TestClientProtocol, _ path: String, _ fields: [(String, String)], headers extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        headers[.contentType] = "application/x-www-form-urlencoded"
        return try await client.send(.post, path, token: nil, body: Self.form(fields), headers: headers)
    }

    static func eventCount(_ settings: DatabaseSettings) async throws -> Int {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let rows = try await client.query("SELECT count(*) FROM events", logger: TestDatabases.logger)
            for try await count in rows.decode(Int.self) { return count }
            return 0
        }
    }

    static func history(
        _ client: any TestClientProtocol, _ path: String, token: String
    ) async throws -> [JSONValue] {
        try await client.send(.get, path, token: token)["events"]?.arrayValue ?? []
    }

    // MARK: The outbox

    @Test func lodgingWithAPhoneSendsTheAcknowledgementAndTheHistorySaysSo() async throws {
        try await Self.withSMS { client, stub, _, tokens in
            let started = ContinuousClock.now
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            #expect(lodged.status == .created, "\(lodged.text)")
            let id = try #require(lodged["id"]?.stringValue)
            try await poll(within: .seconds(10), "the acknowledgement reaches the gateway") {
                stub.messages.contains { $0.text.contains(id) }
            }
            let message = try #require(stub.messages.first { $0.text.contains(id) })
            print("acknowledgement reached the gateway \(message.at - started) after the lodgement was sent")
            #expect(message.to == "+221770000000")
            #expect(message.text.contains("STATUS \(id)"), "\(message.text)")
            #expect(message.key == "complaint/\(id)/acknowledgement")
            // The case history says what the person was told, and when.
            try await poll(within: .seconds(10), "the delivery is in the case history") {
                try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
                    .contains { $0["type"] == "ComplaintMessageSent" }
            }
            let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            let sent = try #require(view["complaint"]?["messages"]?.arrayValue?.first)
            #expect(sent["purpose"] == "acknowledgement" && sent["outcome"] == "sent", "\(sent)")
            #expect(sent["to"] == nil && sent["text"]?.stringValue == message.text, "\(sent)")
            // The number is the person's detail: in the history for the roles that read people, not for coordinators.
            let history = try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
            #expect(history.first { $0["type"] == "ComplaintMessageSent" }?["content"]?["to"] == "+221770000000")
            let coordinator = try await Self.history(client, "/v1/complaints/\(id)", token: tokens.coordinator)
            let seen = try #require(coordinator.first { $0["type"] == "ComplaintMessageSent" })
            #expect(seen["content"]?["to"] == nil && seen["content"]?["text"] != nil, "\(seen)")
            #expect(sent["gateway"] == "africastalking" && sent["gateway_message_id"]?.stringValue != nil)

            // A referral alerts its receiving programme at the number configured for it.
            let referral = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            let referralID = try #require(referral["id"]?.stringValue, "\(referral.text)")
            try await poll(within: .seconds(10), "the receiving programme is alerted") {
                stub.messages.contains { $0.to == Self.healthPhone && $0.text.contains(referralID) }
            }
            #expect(stub.messages.count == 2, "one message each: \(stub.messages.map(\.text))")
        }
    }

    @Test func aComplainantWhoGivesNoNameCanStillBeAnsweredBySMS() async throws {
        try await Self.withSMS { client, stub, _, tokens in
            let anonymous = Body.complaint.replacingOccurrences(
                of: #""anonymous":false,"complainant":{"name":"Amina Diallo","phone":"+221770000000"}"#,
                with: #""anonymous":true"#)
            let refused = try await client.send(.post, "/v1/complaints", token: tokens.office, body: anonymous)
            #expect(refused.status == .unprocessableContent && refused["field"] == "contact_preference")
            #expect(refused["detail"]?.stringValue?.contains("only complainant.phone") == true, "\(refused.text)")
            let numberOnly = Body.complaint.replacingOccurrences(
                of: #""name":"Amina Diallo","#, with: "")
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: numberOnly)
            let id = try #require(lodged["id"]?.stringValue, "\(lodged.text)")
            try await poll(within: .seconds(10), "the acknowledgement reaches the gateway") {
                stub.messages.contains { $0.text.contains(id) && $0.to == "+221770000000" }
            }
        }
    }

    @Test func throughTwilioTheMessageCarriesItsIdempotencyKeyAndAFailedDeliveryIsRecorded() async throws {
        try await Self.withSMS(gateway: .twilio) { client, stub, _, tokens in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            try await poll(within: .seconds(10), "the sent event is recorded") {
                try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
                    .contains { $0["type"] == "ComplaintMessageSent" }
            }
            #expect(stub.messages.first?.key == "complaint/\(id)/acknowledgement")
            let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            let sent = try #require(view["complaint"]?["messages"]?.arrayValue?.first)
            #expect(sent["gateway"] == "twilio", "\(sent)")
            let sid = try #require(sent["gateway_message_id"]?.stringValue)
            let report = [("MessageSid", sid), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")]
            let signature = Self.twilioSignature(path: "/v1/sms/twilio/delivery", report)
            let answer = try await Self.post(
                client, "/v1/sms/twilio/delivery", report, headers: [.twilioSignature: signature])
            #expect(answer["recorded"] == true, "\(answer.text)")
            let history = try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
            let failed = try #require(history.first { $0["type"] == "ComplaintMessageFailed" })
            #expect(failed["content"]?["reason"] == "undelivered (error 30003)", "\(failed)")
        }
    }

    @Test func theOutcomeIsSentWhenTheComplaintIsResolved() async throws {
        try await Self.withSMS { client, stub, _, tokens in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            for (command, body) in [
                ("acknowledge", "{}"), ("assign", #"{"programme":"CCT"}"#),
                ("resolve", #"{"outcome":"upheld","actions_taken":"Paid in full."}"#),
            ] {
                let answer = try await client.send(
                    .post, "/v1/complaints/\(id)/\(command)", token: tokens.programme, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.text)")
            }
            try await poll(within: .seconds(10), "the acknowledgement and the outcome reach the complainant") {
                stub.messages.count == 2
            }
            // Both, each once. Not necessarily in the log's order: an acknowledgement whose first attempt failed is
            // retried after the outcome went (per-person ordering is not promised; docs/operations.md).
            let keys = stub.messages.compactMap(\.key)
            #expect(keys.contains("complaint/\(id)/acknowledgement"), "\(keys)")
            let outcome = try #require(stub.messages.first { $0.key?.hasPrefix("complaint/\(id)/outcome/") == true })
            #expect(outcome.text.contains("\(id): upheld"), "\(stub.messages.map(\.text))")

            // The gateway reports the outcome delivered: the complainant is recorded notified by SMS, once, and the
            // office can close the loop without telling them again.
            try await poll(within: .seconds(10), "the outcome's sending is recorded") {
                try await Self.outcomeGatewayID(client, id, tokens) != nil
            }
            let gatewayID = try #require(try await Self.outcomeGatewayID(client, id, tokens))
            for _ in 0..<2 {
                let report = try await Self.post(
                    client, "/v1/sms/africastalking/delivery", [("id", gatewayID), ("status", "Success")],
                    headers: [.concordSecret: "at-secret"])
                #expect(report["recorded"] == true, "\(report.text)")
            }
            let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            #expect(view["complaint"]?["status"] == "complainant_notified", "\(view.text)")
            let history = try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
            let notified = history.filter { $0["type"] == "ComplainantNotified" }
            #expect(notified.count == 1, "\(history)")
            #expect(notified.first?["content"]?["method"] == "sms", "\(notified)")
            let closed = try await client.send(.post, "/v1/complaints/\(id)/close", token: tokens.office, body: "{}")
            #expect(closed.status == .ok, "\(closed.text)")
        }
    }

    @Test func anOutcomeDeliveredAfterTheOfficeToldTheComplainantChangesNothing() async throws {
        try await Self.withSMS { client, stub, _, tokens in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            for (command, body, token) in [
                ("acknowledge", "{}", tokens.programme), ("assign", #"{"programme":"CCT"}"#, tokens.programme),
                ("resolve", #"{"outcome":"upheld","actions_taken":"Paid in full."}"#, tokens.programme),
                ("notify_complainant", #"{"method":"phone"}"#, tokens.office),
            ] {
                let answer = try await client.send(.post, "/v1/complaints/\(id)/\(command)", token: token, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.text)")
            }
            try await poll(within: .seconds(10), "the outcome's sending is recorded") {
                try await Self.outcomeGatewayID(client, id, tokens) != nil
            }
            let gatewayID = try #require(try await Self.outcomeGatewayID(client, id, tokens))
            let report = try await Self.post(
                client, "/v1/sms/africastalking/delivery", [("id", gatewayID), ("status", "Success")],
                headers: [.concordSecret: "at-secret"])
            #expect(report["recorded"] == true, "\(report.text)")
            let history = try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
            #expect(history.contains { $0["type"] == "ComplaintMessageDelivered" }, "\(history)")
            let notified = history.filter { $0["type"] == "ComplainantNotified" }
            #expect(notified.count == 1 && notified.first?["content"]?["method"] == "phone", "\(notified)")
            _ = stub
        }
    }

    /// Resolved, reopened and resolved again: the first outcome's delivery, reported late, tells the complainant
    /// nothing about the second, so only the second's delivery records them notified.
    @Test func aLateReportOfAnEarlierOutcomeDoesNotCountForTheNewOne() async throws {
        try await Self.withSMS { client, _, _, tokens in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let resolve = ("resolve", #"{"outcome":"upheld","actions_taken":"Paid in full."}"#, tokens.programme)
            for (command, body, token) in [
                ("acknowledge", "{}", tokens.programme), ("assign", #"{"programme":"CCT"}"#, tokens.programme),
                resolve, ("reopen", #"{"reason":"Still not paid."}"#, tokens.office), resolve,
            ] {
                let answer = try await client.send(.post, "/v1/complaints/\(id)/\(command)", token: token, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.text)")
            }
            try await poll(within: .seconds(10), "both outcomes' sendings are recorded") {
                try await Self.outcomeGatewayIDs(client, id, tokens).count == 2
            }
            let ids = try await Self.outcomeGatewayIDs(client, id, tokens)
            func report(_ gatewayID: String) async throws {
                let answer = try await Self.post(
                    client, "/v1/sms/africastalking/delivery", [("id", gatewayID), ("status", "Success")],
                    headers: [.concordSecret: "at-secret"])
                #expect(answer["recorded"] == true, "\(answer.text)")
            }
            func status() async throws -> JSONValue? {
                try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)["complaint"]?["status"]
            }
            try await report(ids[0])
            #expect(try await status() == "resolved")
            try await report(ids[1])
            #expect(try await status() == "complainant_notified")
        }
    }

    /// The gateway's id for the first outcome message, once its sending is recorded on the complaint.
    static func outcomeGatewayID(
        _ client: any TestClientProtocol, _ id: String, _ tokens: Tokens
    ) async throws -> String? {
        try await Self.outcomeGatewayIDs(client, id, tokens).first
    }

    /// The gateway's ids for the outcome messages whose sending is recorded, earliest resolution first (each
    /// message's id ends with the version of the resolution it tells).
    static func outcomeGatewayIDs(
        _ client: any TestClientProtocol, _ id: String, _ tokens: Tokens
    ) async throws -> [String] {
        let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
        let sent = (view["complaint"]?["messages"]?.arrayValue ?? []).filter { $0["purpose"] == "outcome" }
        return sent.compactMap { message -> (Int, String)? in
            guard let gatewayID = message["gateway_message_id"]?.stringValue,
                let version = message["message"]?.stringValue?.split(separator: "/").last.flatMap({ Int($0) })
            else { return nil }
            return (version, gatewayID)
        }
        .sorted { $0.0 < $1.0 }.map(\.1)
    }

    @Test func aFailingGatewayIsRetriedWithBackoffAndTheMessageGoesOnce() async throws {
        try await Self.withSMS { client, stub, settings, tokens in
            stub.fail(next: 3)
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            try await poll(within: .seconds(20), "the message goes once the gateway recovers") {
                stub.messages.contains { $0.text.contains(id) }
            }
            let attempts = stub.attempts.filter { $0.text.contains(id) }
            #expect(attempts.count == 4, "three failures, then one success: \(attempts.count)")
            #expect(Set(attempts.compactMap(\.key)) == ["complaint/\(id)/acknowledgement"], "one idempotency key")
            try await poll(within: .seconds(10), "the sent event is recorded") {
                try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
                    .contains { $0["type"] == "ComplaintMessageSent" }
            }
            let history = try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
            #expect(history.filter { $0["type"] == "ComplaintMessageSent" }.count == 1)
            #expect(!history.contains { $0["type"] == "ComplaintMessageFailed" }, "a passing failure is not final")
            let rows = try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
                try await client.query(
                    "SELECT attempts, status FROM outbox_messages WHERE stream_id = \(id)", logger: TestDatabases.logger
                ).collect().map { try $0.decode((Int32, String).self) }
            }
            #expect(rows.count == 1 && rows.first?.0 == 4 && rows.first?.1 == "sent", "\(rows)")
            let metrics = try await client.send(.get, "/metrics", token: nil).text
            #expect(metrics.contains(#"concord_messages_total{outcome="retried"} 3"#), "\(metrics)")
            #expect(metrics.contains(#"concord_messages_total{outcome="sent"} 1"#))
        }
    }

    @Test func aRefusedMessageIsRecordedAsFailedWithTheGatewaysReason() async throws {
        try await Self.withSMS { client, stub, _, tokens in
            stub.refuse(with: "InvalidPhoneNumber")
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            try await poll(within: .seconds(10), "the failure is in the case history") {
                try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
                    .contains { $0["type"] == "ComplaintMessageFailed" }
            }
            let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            let failed = try #require(view["complaint"]?["messages"]?.arrayValue?.first)
            #expect(failed["outcome"] == "failed" && failed["reason"] == "InvalidPhoneNumber", "\(failed)")
            #expect(stub.attempts.count == 1, "a refusal is final: no retry")
        }
    }

    @Test func erasingThePersonErasesTheNumberAndTextOfTheDeliveryEvents() async throws {
        try await Self.withSMS { client, stub, settings, tokens in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            try await poll(within: .seconds(10), "the sent event is recorded") {
                try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
                    .contains { $0["type"] == "ComplaintMessageSent" }
            }
            let erasure = #"{"reason":"Request from the complainant","legal_basis":"Data Protection Act s.16"}"#
            let erased = try await client.send(.post, "/v1/subjects/\(id)/erasure", token: tokens.admin, body: erasure)
            #expect(erased.status == .ok, "\(erased.text)")
            let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            let sent = try #require(view["complaint"]?["messages"]?.arrayValue?.first)
            #expect(sent["text"]?["erased"] == true, "\(sent)")
            let history = try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
            let content = try #require(history.first { $0["type"] == "ComplaintMessageSent" }?["content"])
            #expect(content["to"]?["erased"] == true && content["text"]?["erased"] == true, "\(content)")
            #expect(!view.text.contains("+221770000000") && !view.text.contains("Tracking code"), "\(view.text)")
            // In the log itself the number was never in clear.
            let stored = try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
                try await client.query(
                    "SELECT convert_from(canonical, 'UTF8') FROM events WHERE stream_id = \(id)",
                    logger: TestDatabases.logger
                ).collect().map { try $0.decode(String.self) }
            }
            #expect(stored.count >= 2 && !stored.contains { $0.contains("+221770000000") })
            _ = stub
        }
    }

    // MARK: Intake

    @Test func anSMSFromEachGatewayLodgesOneComplaintEvenWhenTheGatewayRetries() async throws {
        try await Self.withSMS { client, stub, _, tokens in
            let secret: HTTPFields = [.concordSecret: "at-secret"]
            let africasTalking = [
                ("from", "+254711000001"), ("to", "20880"), ("text", "My cash transfer did not come in March"),
                ("date", "2026-12-02 10:00:00"), ("id", "ATXid_abc"), ("linkId", "link-1"),
            ]
            let twilio = [
                ("From", "+254711000002"), ("To", "+15005550006"), ("Body", "The pension office is closed"),
                ("MessageSid", "SM0001"), ("AccountSid", "AC123"),
            ]
            let rapidPro = [
                ("from", "+254711000003"), ("text", "Nobody answers at the office"), ("date", "2026-12-02"),
            ]
            var lodged: [String: String] = [:]
            for attempt in 0..<2 {
                let first = try await Self.post(client, "/v1/sms/africastalking", africasTalking, headers: secret)
                let signature = Self.twilioSignature(path: "/v1/sms/twilio", twilio)
                let second = try await Self.post(
                    client, "/v1/sms/twilio", twilio, headers: [.twilioSignature: signature])
                let third = try await Self.post(client, "/v1/sms/rapidpro?secret=rapidpro-secret", rapidPro)
                #expect(
                    first.status == .ok && second.status == .ok && third.status == .ok, "\(first.text) \(third.text)")
                #expect(second.text.contains("<Response/>"))
                let ids = [
                    "+254711000001": first["complaint"]?.stringValue, "+254711000003": third["complaint"]?.stringValue,
                ]
                for (phone, id) in ids {
                    let id = try #require(id)
                    if attempt == 0 { lodged[phone] = id } else { #expect(lodged[phone] == id, "a retry lodges once") }
                }
            }
            // Every sender is acknowledged once, with the tracking code of their complaint.
            try await poll(within: .seconds(10), "three acknowledgements") { stub.messages.count == 3 }
            for phone in ["+254711000001", "+254711000002", "+254711000003"] {
                let sent = stub.messages.filter { $0.to == phone }
                #expect(sent.count == 1, "\(phone): \(sent.map(\.text))")
                let code = try #require(sent.first?.text.split(separator: " ").first { $0.hasPrefix("C-") })
                let id = String(code.trimmingCharacters(in: .punctuationCharacters))
                #expect(TrackingCode.parse(id).isSuccess, "\(code)")
                if let known = lodged[phone] { #expect(known == id) }
                // The SMS complaint waits for triage by the area's coordinator: no programme, channel sms.
                let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.coordinator)
                #expect(
                    view["complaint"]?["channel"] == "sms" && view["complaint"]?["programme"] == nil, "\(view.text)")
            }
        }
    }

    @Test func unsignedOrBadlySignedCallbacksAreRefusedAndWriteNothing() async throws {
        try await Self.withSMS { client, stub, settings, _ in
            let before = try await Self.eventCount(settings)
            let twilio = [("From", "+254711000002"), ("Body", "Hello"), ("MessageSid", "SM0002")]
            let forged = Self.twilioSignature(path: "/v1/sms/twilio", twilio, token: "not-the-token")
            let answers = [
                try await Self.post(client, "/v1/sms/twilio", twilio),
                try await Self.post(client, "/v1/sms/twilio", twilio, headers: [.twilioSignature: forged]),
                try await Self.post(client, "/v1/sms/africastalking", [("from", "+1"), ("text", "x"), ("id", "1")]),
                try await Self.post(
                    client, "/v1/sms/africastalking?secret=guess", [("from", "+1"), ("text", "x"), ("id", "1")]),
                try await Self.post(client, "/v1/sms/rapidpro", [("from", "+1"), ("text", "x")]),
                try await Self.post(
                    client, "/v1/ussd/africastalking", [("sessionId", "s"), ("phoneNumber", "+1"), ("text", "")]),
            ]
            #expect(answers.map(\.status.code) == [401, 403, 401, 403, 401, 401], "\(answers.map(\.text))")
            for answer in answers {
                #expect(answer.headers[.contentType] == "application/problem+json")
                #expect(answer["field"]?.stringValue != nil, "\(answer.text)")
            }
            // A signature over other fields than those sent is refused too.
            let tampered = [("From", "+254711000002"), ("Body", "Hello, changed"), ("MessageSid", "SM0002")]
            let signature = Self.twilioSignature(path: "/v1/sms/twilio", twilio)
            let changed = try await Self.post(
                client, "/v1/sms/twilio", tampered, headers: [.twilioSignature: signature])
            #expect(changed.status == .forbidden)
            #expect(try await Self.eventCount(settings) == before, "nothing written")
            #expect(stub.attempts.isEmpty)
        }
    }

    @Test func statusIsAnsweredInTheLanguageItWasAskedIn() async throws {
        try await Self.withSMS { client, stub, _, tokens in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let secret: HTTPFields = [.concordSecret: "at-secret"]
            for (word, number) in [("STATUS", "+254722000001"), ("statut", "+254722000002"), ("HALI", "+254722000003")]
            {
                let asked = try await Self.post(
                    client, "/v1/sms/africastalking", [("from", number), ("text", "\(word) \(id)"), ("id", word)],
                    headers: secret)
                #expect(asked["answered"] == "status", "\(asked.text)")
            }
            let mistyped = String(id.dropLast()) + (id.hasSuffix("A") ? "B" : "A")
            _ = try await Self.post(
                client, "/v1/sms/africastalking",
                [("from", "+254722000004"), ("text", "STATUS \(mistyped)"), ("id", "m")],
                headers: secret)
            try await poll(within: .seconds(10), "four replies") {
                stub.messages.filter { $0.to.hasPrefix("+2547220") }.count == 4
            }
            let replies = Dictionary(
                stub.messages.filter { $0.to.hasPrefix("+2547220") }.map { ($0.to, $0.text) }, uniquingKeysWith: { $1 })
            #expect(
                replies["+254722000001"] == "\(id): Your complaint has been received and will be acknowledged soon.")
            #expect(replies["+254722000002"]?.hasPrefix("\(id) : ") == true, "\(replies)")
            #expect(replies["+254722000002"] != replies["+254722000001"])
            #expect(replies["+254722000003"]?.contains("Malalamiko yako yamepokelewa") == true, "\(replies)")
            #expect(replies["+254722000004"]?.contains("typo") == true, "\(replies)")
            // A question is not a complaint: nothing was lodged for the askers.
            let lodgedBySMS = stub.messages.filter { $0.text.contains("we received your complaint") }
            #expect(lodgedBySMS.allSatisfy { $0.to == "+221770000000" })
        }
    }

    @Test func theUSSDDialogueAsksForALanguageThenACodeAndEndsWithTheStatus() async throws {
        try await Self.withSMS { client, _, _, tokens in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            func step(_ text: String) async throws -> String {
                let answer = try await Self.post(
                    client, "/v1/ussd/africastalking?secret=at-secret",
                    [
                        ("sessionId", "ATUid_1"), ("serviceCode", "*384*123#"), ("phoneNumber", "+254733000001"),
                        ("text", text),
                    ])
                #expect(answer.status == .ok && answer.headers[.contentType]?.hasPrefix("text/plain") == true)
                return answer.text
            }
            let menu = try await step("")
            #expect(menu.hasPrefix("CON ") && menu.contains("1. English"), "\(menu)")
            #expect(try await step("2") == "CON Entrez votre code de suivi :")
            let status = try await step("2*\(id)")
            #expect(status.hasPrefix("END \(id) : ") && status != "END \(id) : track.complaint.lodged", "\(status)")
            #expect(try await step("1*C-0000-000").hasPrefix("END "), "an unknown code ends the session")
        }
    }

    @Test func deliveryReportsAreRecordedOnce() async throws {
        try await Self.withSMS { client, stub, _, tokens in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            try await poll(within: .seconds(10), "the sent event is recorded") {
                try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
                    .contains { $0["type"] == "ComplaintMessageSent" }
            }
            let view = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)
            let gatewayID = try #require(
                view["complaint"]?["messages"]?.arrayValue?.first?["gateway_message_id"]?.stringValue)
            for _ in 0..<2 {
                let report = try await Self.post(
                    client, "/v1/sms/africastalking/delivery", [("id", gatewayID), ("status", "Success")],
                    headers: [.concordSecret: "at-secret"])
                #expect(report["recorded"] == true, "\(report.text)")
            }
            let history = try await Self.history(client, "/v1/complaints/\(id)", token: tokens.office)
            #expect(history.filter { $0["type"] == "ComplaintMessageDelivered" }.count == 1, "\(history)")
            _ = stub
        }
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
