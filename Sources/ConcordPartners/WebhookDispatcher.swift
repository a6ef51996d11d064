import AsyncHTTPClient
import ConcordCore
import ConcordStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// How webhooks are delivered (retries, when a failing subscriber is disabled, timeouts) and how the event stream
/// keeps idle connections alive.
public struct WebhookSettings: Sendable {
    /// The first wait after a failed delivery; it doubles (with jitter) up to `retryMaximum`.
    public var retryInitial: Duration = .seconds(1)
    public var retryMaximum: Duration = .seconds(300)
    /// A subscriber whose deliveries have all failed for this long is disabled.
    public var disableAfter: Duration = .seconds(3 * 86_400)
    /// How long one delivery may take.
    public var timeout: Duration = .seconds(10)
    /// How long a rotated-out secret keeps signing.
    public var rotationOverlap: Duration = .seconds(86_400)
    /// Events read per subscription per round.
    public var batchSize = 100
    /// How often to look for work when no commit wakes the dispatcher (replays, retries, the lease).
    public var pollInterval: Duration = .seconds(1)
    /// How long `/v1/events/stream` may stay silent before it sends a heartbeat comment.
    public var eventStreamHeartbeat: Duration = .seconds(15)

    public init() {}
}

/// Sends the case events each subscriber may read, in log order, from its position on: at least once, each
/// signed with its secrets (`WebhookSignature`), as a CloudEvent (`CaseCloudEvent`). A subscriber that fails is
/// retried with exponential backoff (`Backoff`) and disabled once it has failed for `disableAfter`; the others go on.
///
/// Works only while `isLeader` says this process holds the projection lease, so that one process sends.
public final class WebhookDispatcher: Service, Sendable {
    let store: EventStore
    let webhooks: WebhookStore
    let disclosure: CaseDisclosure
    let settings: WebhookSettings
    let logger: Logger
    let isLeader: @Sendable () -> Bool

    public init(
        store: EventStore, webhooks: WebhookStore, disclosure: CaseDisclosure, settings: WebhookSettings,
        logger: Logger, isLeader: @escaping @Sendable () -> Bool
    ) {
        self.store = store
        self.webhooks = webhooks
        self.disclosure = disclosure
        self.settings = settings
        self.logger = logger
        self.isLeader = isLeader
    }

    /// When a failing subscription is tried next.
    struct Retry {
        var backoff: Backoff
        var notBefore: ContinuousClock.Instant
    }

    /// What one round did for one subscription.
    enum Outcome: Sendable {
        case caughtUp
        case more
        case failed(String)
    }

    public func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await cancelWhenGracefulShutdown { try await self.loop(client) }
        } catch is CancellationError {}
        try? await client.shutdown()
    }

    private func loop(_ client: HTTPClient) async throws {
        var retries: [UUID: Retry] = [:]
        while !Task.isCancelled {
            let generation = self.store.commitGeneration
            var more = false
            if self.isLeader() {
                do {
                    more = try await self.round(client, retries: &retries)
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning(
                        "webhook round failed; next time", metadata: ["error": "\(safeDescription(of: error))"])
                }
            }
            if !more { await self.store.waitForCommits(since: generation, timeout: self.settings.pollInterval) }
        }
    }

    /// One batch for every active subscription not waiting for a retry, side by side; true when some have more.
    private func round(_ client: HTTPClient, retries: inout [UUID: Retry]) async throws -> Bool {
        let now = ContinuousClock.now
        let due = try await self.webhooks.active().filter { retries[$0.id].map { $0.notBefore <= now } ?? true }
        let outcomes = await withTaskGroup(of: (UUID, Outcome).self) { group in
            for subscription in due {
                group.addTask { (subscription.id, await self.deliverBatch(subscription, client)) }
            }
            var outcomes: [(UUID, Outcome)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        var more = false
        for (id, outcome) in outcomes {
            switch outcome {
            case .caughtUp: retries[id] = nil
            case .more: (retries[id], more) = (nil, true)
            case .failed(let reason):
                var retry =
                    retries[id]
                    ?? Retry(
                        backoff: Backoff(initial: self.settings.retryInitial, maximum: self.settings.retryMaximum),
                        notBefore: now)
                retry.notBefore = ContinuousClock.now + retry.backoff.next()
                retries[id] = retry
                await self.recordFailure(id, reason)
            }
        }
        return more
    }

    private func recordFailure(_ id: UUID, _ reason: String) async {
        do {
            if try await self.webhooks.recordFailure(id, error: reason, disableAfter: self.settings.disableAfter) {
                self.logger.warning("webhook subscription disabled: it kept failing", metadata: ["webhook": "\(id)"])
            }
        } catch {
            self.logger.warning("webhook failure not recorded", metadata: ["error": "\(safeDescription(of: error))"])
        }
    }

    /// Delivers the events after the subscription's position, one after the other, until one fails.
    private func deliverBatch(_ subscription: WebhookSubscription, _ client: HTTPClient) async -> Outcome {
        var position = subscription.position
        do {
            let events = try await self.store.readAll(after: position, limit: self.settings.batchSize)
            for event in events {
                var delivered = false
                let type = CaseCloudEvent.type(streamType: event.stream.type, eventType: event.type)
                if subscription.wants(type),
                    let cloudEvent = try await self.disclosure.cloudEvent(
                        event, for: subscription.reader)
                {
                    if let failure = await self.post(cloudEvent, id: event.id, to: subscription, client) {
                        return .failed(failure)
                    }
                    delivered = true
                }
                // Moved meanwhile (a replay, a disable): the next round starts from what the table holds.
                guard
                    try await self.webhooks.advance(
                        subscription.id, from: position, to: event.position, delivered: delivered)
                else { return .more }
                position = event.position
            }
            return events.count == self.settings.batchSize ? .more : .caughtUp
        } catch {
            return .failed("Concord could not read the log: \(safeDescription(of: error))")
        }
    }

    /// Sends one CloudEvent; nil when the subscriber answered 2xx, else why not.
    private func post(
        _ cloudEvent: JSONValue, id: UUID, to subscription: WebhookSubscription, _ client: HTTPClient
    ) async -> String? {
        let body = CanonicalJSON.encode(cloudEvent)
        let messageID = id.uuidString.lowercased()
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: subscription.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/cloudevents+json")
        request.headers.add(name: "webhook-id", value: messageID)
        request.headers.add(name: "webhook-timestamp", value: "\(timestamp)")
        request.headers.add(
            name: "webhook-signature",
            value: WebhookSignature.header(
                secrets: subscription.secrets, id: messageID, timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let (seconds, attoseconds) = self.settings.timeout.components
            let timeout = TimeAmount.milliseconds(seconds * 1_000 + attoseconds / 1_000_000_000_000_000)
            let response = try await client.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else {
                return "the subscriber answered \(response.status.code)"
            }
            return nil
        } catch {
            return "no answer from the subscriber: \(String(describing: error).prefix(200))"
        }
    }
}

extension WebhookSettings {
    /// The settings from `CONCORD_WEBHOOK_DISABLE_AFTER`, `CONCORD_WEBHOOK_RETRY_MAX` and `CONCORD_WEBHOOK_TIMEOUT`
    /// (whole seconds), the defaults where unset.
    public static func from(environment: [String: String]) throws -> WebhookSettings {
        var settings = WebhookSettings()
        func seconds(_ name: String) throws -> Duration? {
            guard let text = environment[name] else { return nil }
            guard let value = Int64(text), value > 0 else {
                throw WebhookSettingsError(description: "\(name) takes a whole number of seconds above 0, not \(text)")
            }
            return .seconds(value)
        }
        settings.disableAfter = try seconds("CONCORD_WEBHOOK_DISABLE_AFTER") ?? settings.disableAfter
        settings.retryMaximum = try seconds("CONCORD_WEBHOOK_RETRY_MAX") ?? settings.retryMaximum
        settings.timeout = try seconds("CONCORD_WEBHOOK_TIMEOUT") ?? settings.timeout
        return settings
    }
}

public struct WebhookSettingsError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
