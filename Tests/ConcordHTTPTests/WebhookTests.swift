import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Signed webhooks end to end: the real application, a real subscriber on a loopback port.
@Suite struct WebhookTests {
    /// Subscribes `url` as an admin; returns the subscription's id and its secret.
    static func subscribe(
        _ client: any TestClientProtocol, _ tokens: Tokens, url: String, role: String = "programme",
        scope: String? = "CCT", extra: String = ""
    ) async throws -> (id: String, secret: String) {
        let scopeMember = scope.map { #","scope":"\#($0)""# } ?? ""
        let answer = try await client.send(
            .post, "/v1/webhooks", token: tokens.admin,
            body: #"{"url":"\#(url)","role":"\#(role)"\#(scopeMember)\#(extra)}"#)
        try #require(answer.status == .created, "\(answer.json)")
        return (
            try #require(answer["webhook"]?["id"]?.stringValue), try #require(answer["secret"]?.stringValue)
        )
    }

    static func lodge(
        _ client: any TestClientProtocol, _ tokens: Tokens, body: String = Body.complaint
    ) async throws
        -> String
    {
        let answer = try await client.send(.post, "/v1/complaints", token: tokens.office, body: body)
        try #require(answer.status == .created, "\(answer.json)")
        return try #require(answer["id"]?.stringValue)
    }

    @Test func signedCloudEventsReachTheSubscriberAndARotationSignsWithBothSecrets() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let subscriber = StubSubscriber()
        try await subscriber.listening { url in
            try await withApplication(settings: settings) { client in
                let (webhook, secret) = try await Self.subscribe(client, tokens, url: url)
                let id = try await Self.lodge(client, tokens)
                try await poll(within: .seconds(15), "the lodgement is delivered") { subscriber.delivered.count == 1 }
                let first = try #require(subscriber.delivered.first)
                #expect(StubSubscriber.verifies(first, secret: secret))
                #expect(!StubSubscriber.verifies(first, secret: "whsec_" + Data(count: 32).base64EncodedString()))
                #expect(first.contentType == "application/cloudevents+json")
                let event = first.json
                #expect(event["specversion"] == "1.0")
                #expect(event["type"] == "org.concord.complaint.lodged")
                #expect(event["subject"] == .string(id))
                #expect(event["id"] == .string(first.id))
                #expect(event["datacontenttype"] == "application/json")
                // The programme reads the complainant: the API gives it them, and so does its webhook.
                #expect(event["data"]?["content"]?["complainant"]?["name"] == "Amina Diallo", "\(event)")
                // The secret is never shown again.
                let listed = try await client.send(.get, "/v1/webhooks", token: tokens.admin)
                #expect(listed.status == .ok && !listed.text.contains("whsec_"), "\(listed.text)")

                let rotated = try await client.send(.post, "/v1/webhooks/\(webhook)/rotate", token: tokens.admin)
                let newSecret = try #require(rotated["secret"]?.stringValue)
                #expect(newSecret != secret && rotated["webhook"]?["previous_secret_expires_at"] != .null)
                let acknowledged = try await client.send(
                    .post, "/v1/complaints/\(id)/acknowledge", token: tokens.programme, body: "{}")
                #expect(acknowledged.status == .ok)
                try await poll(within: .seconds(15), "the acknowledgement is delivered") {
                    subscriber.delivered.count == 2
                }
                let second = subscriber.delivered[1]
                #expect(second.json["type"] == "org.concord.complaint.acknowledged")
                #expect(second.signature.split(separator: " ").count == 2)
                #expect(StubSubscriber.verifies(second, secret: newSecret))
                #expect(StubSubscriber.verifies(second, secret: secret))
            }
        }
    }

    @Test func aFailingSubscriberIsRetriedAndGetsTheEventOnceItRecovers() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let subscriber = StubSubscriber()
        subscriber.fail(true)
        try await subscriber.listening { url in
            try await withApplication(
                settings: settings,
                configure: {
                    $0.webhooks.retryInitial = .milliseconds(100); $0.webhooks.retryMaximum = .milliseconds(400)
                }
            ) { client in
                let (webhook, _) = try await Self.subscribe(client, tokens, url: url)
                let id = try await Self.lodge(client, tokens)
                try await poll(within: .seconds(15), "the subscriber refused three attempts") {
                    subscriber.refused >= 3
                }
                let failing = try await client.send(.get, "/v1/webhooks/\(webhook)", token: tokens.admin)
                #expect(failing["last_error"]?.stringValue?.contains("503") == true, "\(failing.json)")
                #expect(failing["failing_since"] != .null && failing["state"] == "active")
                subscriber.fail(false)
                try await poll(within: .seconds(15), "the event is delivered") { subscriber.delivered.count == 1 }
                // Caught up: the position moved past it, and nothing is sent twice.
                try await poll(within: .seconds(10), "the position is past the event") {
                    let shown = try await client.send(.get, "/v1/webhooks/\(webhook)", token: tokens.admin)
                    return shown["failing_since"] == .null && shown["last_error"] == .null
                }
                let marker = try await Self.lodge(client, tokens)
                try await poll(within: .seconds(15), "the next event is delivered") { subscriber.delivered.count == 2 }
                #expect(subscriber.delivered.map(\.subject) == [id, marker])
            }
        }
    }

    @Test func aSubscriberFailingForTheConfiguredTimeIsDisabled() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let subscriber = StubSubscriber()
        subscriber.fail(true)
        try await subscriber.listening { url in
            try await withApplication(
                settings: settings,
                configure: {
                    $0.webhooks.retryInitial = .milliseconds(100)
                    $0.webhooks.retryMaximum = .milliseconds(300)
                    $0.webhooks.disableAfter = .seconds(1)
                }
            ) { client in
                let (webhook, _) = try await Self.subscribe(client, tokens, url: url)
                _ = try await Self.lodge(client, tokens)
                try await poll(within: .seconds(20), "the subscription is disabled") {
                    let shown = try await client.send(.get, "/v1/webhooks/\(webhook)", token: tokens.admin)
                    return shown["state"] == "disabled"
                }
                let shown = try await client.send(.get, "/v1/webhooks/\(webhook)", token: tokens.admin)
                #expect(shown["disabled_reason"]?.stringValue?.contains("failed since") == true, "\(shown.json)")
                // Once disabled nothing more is tried; enabled again, the event goes out.
                let refusedWhenDisabled = subscriber.refused
                subscriber.fail(false)
                let enabled = try await client.send(.post, "/v1/webhooks/\(webhook)/enable", token: tokens.admin)
                #expect(enabled["state"] == "active" && enabled["failing_since"] == .null, "\(enabled.json)")
                try await poll(within: .seconds(15), "the event is delivered") { subscriber.delivered.count == 1 }
                #expect(subscriber.refused == refusedWhenDisabled)
            }
        }
    }

    @Test func aRestartedServiceGoesOnFromTheStoredPosition() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let subscriber = StubSubscriber()
        try await subscriber.listening { url in
            let first = LastAnswer()
            try await withApplication(settings: settings) { client in
                let (webhook, _) = try await Self.subscribe(client, tokens, url: url)
                first.text = try await Self.lodge(client, tokens)
                try await poll(within: .seconds(15), "the first is delivered") { subscriber.delivered.count == 1 }
                let position = try #require(subscriber.delivered[0].json["concordposition"]?.integerValue)
                try await poll(within: .seconds(15), "its position is stored") {
                    let shown = try await client.send(.get, "/v1/webhooks/\(webhook)", token: tokens.admin)
                    return (shown["position"]?.integerValue ?? 0) >= position
                }
            }
            // Another process on the same database: nothing already delivered goes out again.
            try await withApplication(settings: settings, importReference: false) { client in
                let second = try await Self.lodge(client, tokens)
                try await poll(within: .seconds(15), "the second is delivered") { subscriber.delivered.count == 2 }
                #expect(subscriber.delivered.map(\.subject) == [first.text, second])
            }
        }
    }

    @Test func aReplayFromAPositionSendsAgain() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let subscriber = StubSubscriber()
        try await subscriber.listening { url in
            try await withApplication(settings: settings) { client in
                let (webhook, _) = try await Self.subscribe(client, tokens, url: url)
                let first = try await Self.lodge(client, tokens)
                let second = try await Self.lodge(client, tokens)
                try await poll(within: .seconds(15), "both are delivered") { subscriber.delivered.count == 2 }
                let position = try #require(subscriber.delivered[0].json["concordposition"]?.integerValue)
                let replayed = try await client.send(
                    .post, "/v1/webhooks/\(webhook)/replay", token: tokens.admin,
                    body: #"{"from_position":\#(position)}"#)
                #expect(replayed.status == .ok && replayed["position"] == .integer(position - 1), "\(replayed.json)")
                try await poll(within: .seconds(15), "both are delivered again") { subscriber.delivered.count == 4 }
                #expect(subscriber.delivered.map(\.subject) == [first, second, first, second])
                // The same webhook-id on a repeat: the receiver can drop duplicates.
                #expect(subscriber.delivered[0].id == subscriber.delivered[2].id)
            }
        }
    }

    @Test func aProgrammeSubscriptionNeverReceivesWhatItCouldNotRead() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let (subscriber, focalPoint) = (StubSubscriber(), StubSubscriber())
        try await subscriber.listening { url in
            try await focalPoint.listening { focalURL in
                try await withApplication(settings: settings) { client in
                    _ = try await Self.subscribe(client, tokens, url: url)
                    _ = try await Self.subscribe(client, tokens, url: focalURL, extra: #","focal_point":true"#)
                    let cct = try await Self.lodge(client, tokens)
                    _ = try await Self.lodge(
                        client, tokens, body: Body.complaint.replacingOccurrences(of: "\"CCT\"", with: "\"PENSION\""))
                    let sensitive = try await Self.lodge(
                        client, tokens,
                        body: Body.complaint.replacingOccurrences(of: "\"sensitive\":false", with: "\"sensitive\":true")
                    )
                    let referral = try await client.send(
                        .post, "/v1/referrals", token: tokens.receiver,
                        body: """
                            {"source":"HEALTH","receiver":"PENSION","person":{"kind":"person","reference":"P-1","form_fields":{}},
                             "reason":"Needs a pension review.","urgency":"routine","referral_type":"social"}
                            """)
                    #expect(referral.status == .created, "\(referral.json)")
                    let marker = try await Self.lodge(client, tokens)
                    try await poll(within: .seconds(15), "the marker is delivered to both") {
                        subscriber.delivered.contains { $0.subject == marker }
                            && focalPoint.delivered.contains { $0.subject == marker }
                    }
                    #expect(subscriber.delivered.map(\.subject) == [cct, marker])
                    // The programme's focal point reads its sensitive complaints, and so does its subscription.
                    #expect(focalPoint.delivered.map(\.subject) == [cct, sensitive, marker])
                }
            }
        }
    }

    @Test func badSubscriptionsAreRefusedNamingTheField() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            for (body, field) in [
                (#"{"url":"ftp://partner.example/hook","role":"programme","scope":"CCT"}"#, "url"),
                (#"{"url":"https://partner.example/hook","role":"programme"}"#, "scope"),
                (#"{"url":"https://partner.example/hook","role":"programme","scope":"NOPE"}"#, "scope"),
                (#"{"url":"https://partner.example/hook","role":"admin"}"#, "role"),
                (
                    #"{"url":"https://partner.example/hook","role":"auditor","event_types":["complaint.lodged"]}"#,
                    "event_types"
                ),
                (#"{"url":"https://partner.example/hook","role":"auditor","colour":"red"}"#, "colour"),
            ] {
                let answer = try await client.send(.post, "/v1/webhooks", token: tokens.admin, body: body)
                #expect([.badRequest, .unprocessableContent].contains(answer.status), "\(body): \(answer.json)")
                #expect(answer.headers[.contentType] == "application/problem+json")
                #expect(answer["field"] == .string(field), "\(body): \(answer.json)")
            }
            let notAdmin = try await client.send(
                .post, "/v1/webhooks", token: tokens.programme, body: #"{"url":"https://p.example","role":"auditor"}"#)
            #expect(notAdmin.status == .forbidden)
            let listed = try await client.send(.get, "/v1/webhooks", token: tokens.admin)
            #expect(listed["webhooks"] == .array([]))
            let replay = try await client.send(
                .post, "/v1/webhooks/\(UUID().uuidString)/replay", token: tokens.admin, body: #"{"from_position":0}"#)
            #expect(replay.status == .badRequest && replay["field"] == "from_position", "\(replay.json)")
        }
    }
}
