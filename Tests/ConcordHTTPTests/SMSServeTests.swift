import ConcordCore
import ConcordOutbox
import ConcordStore
import ConcordTestSupport
import Foundation
import Testing

/// The outbox in a real `concord serve`, configured from the environment as an operator does: an inbound Africa's
/// Talking SMS lodges a complaint whose acknowledgement reaches the gateway within 2 s, and a new process (a
/// restart) does not send again what the previous one sent.
@Suite struct SMSServeTests {
    static func environment(_ stub: StubGateway) -> [String: String] {
        [
            "CONCORD_SMS_GATEWAY": "africastalking", "CONCORD_SMS_BASE_URL": "http://127.0.0.1:\(stub.port)",
            "CONCORD_AT_USERNAME": "sandbox", "CONCORD_AT_API_KEY": "at-api-key", "CONCORD_AT_SECRET": "at-secret",
            "CONCORD_SMS_OFFICE": "OFF-001", "CONCORD_SMS_AREA": "D-01", "CONCORD_SMS_RETRY_INITIAL_MS": "100",
        ]
    }

    /// Sends an inbound SMS as Africa's Talking does; returns the tracking code of the complaint it lodged.
    static func inbound(_ node: ServeNode, from: String, text: String, id: String) async throws -> String {
        let body = FormEncoding.encode([("from", from), ("to", "20880"), ("text", text), ("id", id)])
        let answer = try await HTTP.send(
            .post, node.url("/v1/sms/africastalking?secret=at-secret"), body: body,
            headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(answer.status == 200, "\(answer.body)")
        let json = try JSONParser.parse(Array(answer.body.utf8))
        return try #require(json["complaint"]?.stringValue, "\(answer.body)")
    }

    @Test func anInboundSMSIsAcknowledgedWithinTwoSecondsAndARestartSendsNothingTwice() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        let stub = try await StubGateway.start()
        defer { stub.stop() }
        let first = try await ServeNode.start(settings, environment: Self.environment(stub))
        let sentAt = ContinuousClock.now
        let id = try await Self.inbound(first, from: "+254711000010", text: "No payment since June", id: "ATXid_r1")
        try await poll(within: .seconds(10), "the acknowledgement reaches the gateway") {
            stub.messages.contains { $0.text.contains(id) }
        }
        let took = try #require(stub.messages.first { $0.text.contains(id) }).at - sentAt
        print("inbound SMS to acknowledgement at the gateway, through concord serve: \(took)")
        #expect(took < .seconds(2))
        try await poll(within: .seconds(10), "the sent event is recorded") {
            try await Self.recorded(settings, id)
        }
        first.signal(SIGTERM)
        #expect(await first.waitForExit(within: .seconds(30)) == 0, "\(first.log)")

        // A new process takes the lease and the outbox: it sends the next message, and not the first one again.
        let second = try await ServeNode.start(settings, environment: Self.environment(stub))
        defer { second.signal(SIGTERM) }
        let next = try await Self.inbound(second, from: "+254711000011", text: "Office closed", id: "ATXid_r2")
        try await poll(within: .seconds(10), "the second acknowledgement reaches the gateway") {
            stub.messages.contains { $0.text.contains(next) }
        }
        #expect(stub.attempts.filter { $0.text.contains(id) }.count == 1, "the first was sent once")
        #expect(stub.attempts.count == 2, "\(stub.attempts.map(\.text))")
        // The gateway's retry of the first SMS, to the new process, lodges nothing new.
        let again = try await Self.inbound(second, from: "+254711000010", text: "No payment since June", id: "ATXid_r1")
        #expect(again == id)
    }

    @Test func twoNodesSendEachMessageOnce() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        let stub = try await StubGateway.start()
        defer { stub.stop() }
        let nodes = [
            try await ServeNode.start(settings, environment: Self.environment(stub)),
            try await ServeNode.start(settings, environment: Self.environment(stub)),
        ]
        defer { for node in nodes { node.signal(SIGTERM) } }
        var ids: [String] = []
        for index in 0..<6 {
            ids.append(
                try await Self.inbound(
                    nodes[index % 2], from: "+25471100002\(index)", text: "Complaint \(index)", id: "ATXid_n\(index)"))
        }
        try await poll(within: .seconds(15), "every acknowledgement reaches the gateway") {
            ids.allSatisfy { id in stub.messages.contains { $0.text.contains(id) } }
        }
        // Whichever node holds the lease sends; the other sends nothing, so each message went out once.
        #expect(stub.attempts.count == 6, "\(stub.attempts.map(\.text))")
    }

    @Test func aGatewayConfiguredWrongStopsTheStartWithOneLine() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        for (extra, message) in [
            (["CONCORD_SMS_GATEWAY": "nexmo"], "CONCORD_SMS_GATEWAY takes africastalking or twilio, not nexmo"),
            (
                ["CONCORD_SMS_GATEWAY": "twilio", "CONCORD_SMS_OFFICE": "OFF-001", "CONCORD_SMS_AREA": "D-01"],
                "CONCORD_TWILIO_ACCOUNT_SID is required with CONCORD_SMS_GATEWAY=twilio"
            ),
            (["CONCORD_SMS_CONTACTS": "CCT"], "CONCORD_SMS_CONTACTS takes CODE=+number pairs"),
            (["CONCORD_SMS_MAX_ATTEMPTS": "many"], "CONCORD_SMS_MAX_ATTEMPTS takes a positive whole number, not many"),
        ] {
            var environment = ServeProcess.environment(settings)
            environment["CONCORD_PORT"] = "\(try freePort())"
            let base = [
                "CONCORD_SMS_GATEWAY": "africastalking", "CONCORD_SMS_OFFICE": "OFF-001", "CONCORD_SMS_AREA": "D-01",
                "CONCORD_AT_USERNAME": "sandbox", "CONCORD_AT_API_KEY": "key",
            ]
            environment.merge(base.merging(extra) { $1 }) { $1 }
            let (status, output) = try await runProcess(concordExecutable, ["serve"], environment: environment)
            #expect(status != 0, "\(extra): \(output)")
            #expect(output.contains(message), "\(extra): \(output)")
            #expect(output.split(separator: "\n").count <= 2, "a one-line message: \(output)")
        }
    }

    /// Whether the case's log holds its `ComplaintMessageSent`.
    static func recorded(_ settings: DatabaseSettings, _ id: String) async throws -> Bool {
        try await withStore(settings: settings) { store in
            try await store.readStream(StreamName(type: "complaint", id: id)).contains {
                $0.type == "ComplaintMessageSent"
            }
        }
    }
}
