import ArgumentParser
import ConcordCore
import ConcordPartners
import ConcordStore
import Foundation
import PostgresNIO

/// `concord webhook`: the admin API's webhook subscriptions from the command line, on the database directly.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Subscribe partner systems to the case events they may read (signed webhooks).",
        subcommands: [Create.self, List.self, Disable.self, Enable.self, Replay.self, Rotate.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a subscription and print its secret, once.")

        @Option(help: "Where to POST the events (http or https).")
        var url: String

        @Option(help: "Read as this role: office, programme, coordinator or auditor.")
        var role: Role

        @Option(help: "The office, programme or area code it reads for.")
        var scope: String?

        @Flag(help: "A programme's focal point: also receives its sensitive cases.")
        var focalPoint = false

        @Option(help: "A CloudEvents type to send (repeat for several; none: every case event).")
        var eventType: [String] = []

        @Option(help: "A note saying whose subscription it is.")
        var label: String?

        @Option(help: "The first log position to send (default: the next event appended).")
        var fromPosition: Int64?

        func run() async throws {
            let request = WebhookRequest(
                url: self.url, eventTypes: self.eventType, role: self.role, scope: self.scope,
                focalPoint: self.focalPoint, label: self.label, fromPosition: self.fromPosition)
            let (subscription, secret) = try await withWebhookStore { store, client in
                let reference = ReferenceData()
                _ = try await reference.load(from: EventStore(client: client, logger: makeLogger("concord")))
                return try await store.create(request, catalog: reference.catalog)
            }
            print("created webhook \(subscription.id.uuidString.lowercased()) (\(describe(subscription)))")
            print(secret)
            print("the secret above will not be shown again: give it to the subscriber now")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the subscriptions (never their secrets).")

        func run() async throws {
            let subscriptions = try await withWebhookStore { store, _ in try await store.list() }
            for subscription in subscriptions {
                print("\(subscription.id.uuidString.lowercased())  \(describe(subscription))")
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop sending to a subscription.")
        @Argument(help: "The subscription's id (concord webhook list).") var id: String

        func run() async throws {
            let id = try parseID(self.id)
            let changed = try await withWebhookStore { store, _ in try await store.setActive(id, false) }
            print("disabled \(self.id) (\(describe(changed)))")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send to a subscription again, from its position; its failures are forgotten.")
        @Argument(help: "The subscription's id (concord webhook list).") var id: String

        func run() async throws {
            let id = try parseID(self.id)
            let changed = try await withWebhookStore { store, _ in try await store.setActive(id, true) }
            print("enabled \(self.id) (\(describe(changed)))")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send again every event from a log position on (those the subscriber may read).")
        @Argument(help: "The subscription's id (concord webhook list).") var id: String
        @Option(help: "The first log position to send again.") var fromPosition: Int64

        func run() async throws {
            let (id, from) = (try parseID(self.id), self.fromPosition)
            let changed = try await withWebhookStore { store, _ in try await store.replay(id, from: from) }
            print("replaying \(self.id) from position \(from) (\(describe(changed)))")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a subscription a new secret, printed once; the old one signs too for --overlap hours.")
        @Argument(help: "The subscription's id (concord webhook list).") var id: String
        @Option(help: "Hours the old secret keeps signing beside the new one.") var overlap: Int64 = 24

        func run() async throws {
            let id = try parseID(self.id)
            guard self.overlap >= 0 else { throw ValidationFailure(message: "--overlap takes 0 or more hours") }
            let hours = self.overlap
            let (_, secret) = try await withWebhookStore { store, _ in
                try await store.rotate(id, overlap: .seconds(hours * 3_600))
            }
            print("rotated \(self.id); the new secret:")
            print(secret)
            print("the old secret signs too for \(hours) h: switch the subscriber over before then")
        }
    }
}

private func parseID(_ text: String) throws -> UUID {
    guard let id = UUID(uuidString: text) else {
        throw ValidationFailure(message: "\(text) is not a webhook id; `concord webhook list` shows them")
    }
    return id
}

private func describe(_ subscription: WebhookSubscription) -> String {
    var parts = [subscription.state.rawValue, subscription.url, "role \(subscription.role.rawValue)"]
    if let scope = subscription.scope { parts.append("scope \(scope)") }
    if subscription.focalPoint { parts.append("focal point") }
    parts.append("position \(subscription.position)")
    if !subscription.eventTypes.isEmpty { parts.append(subscription.eventTypes.joined(separator: ",")) }
    if let error = subscription.lastError { parts.append("last error: \(error)") }
    if let reason = subscription.disabledReason { parts.append(reason) }
    return parts.joined(separator: ", ")
}

private func withWebhookStore<T: Sendable>(
    _ body: @Sendable (WebhookStore, PostgresClient) async throws -> T
) async throws -> T {
    let logger = makeLogger("concord")
    let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
    defer { bootstrap.stopClusterIfStarted() }
    return try await failing {
        _ = try await bootstrap.migrate(logger: logger)
        return try await PostgresClient.withRunning(bootstrap.settings.owner, logger: logger) { client in
            try await body(WebhookStore(client: client, logger: logger), client)
        }
    }
}
