import ConcordCore
import ConcordStore
import CoreMetrics
import Crypto
import Logging
import PostgresNIO

/// Reaching people from the log: decides what must be sent (`follow`), sends it at least once with retries
/// (`sendDue`), and records each outcome as an event of the case through the command pipeline. Only the process
/// holding the projection lease runs `follow` and `sendDue` (`OutboxService`); any process takes delivery reports
/// and replies.
public struct Outbox: Sendable {
    public let table: OutboxTable
    let store: EventStore
    let vault: PersonalDataVault
    let reference: ReferenceData
    public let settings: SMSSettings
    public let gateway: SMSGateway
    let logger: Logger
    /// How long a claimed message is left alone by other passes: well above one attempt's time.
    let claimLease: Duration = .seconds(60)
    static let metadata = EventMetadata(actor: "concord:sms", role: "system")
    /// Attempts by what came of them (`concord_messages_total{outcome}`: sent, retried, failed, dropped).
    let counters: [String: CoreMetrics.Counter]

    public init(
        client: PostgresClient, store: EventStore, vault: PersonalDataVault, reference: ReferenceData,
        settings: SMSSettings, gateway: SMSGateway? = nil, logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.counters = Dictionary(
            uniqueKeysWithValues: ["sent", "retried", "failed", "dropped"].map {
                (
                    $0,
                    CoreMetrics.Counter(
                        label: "concord_messages_total", dimensions: [("outcome", $0)], factory: metrics)
                )
            })
        self.table = OutboxTable(client: client, logger: logger)
        self.store = store
        self.vault = vault
        self.reference = reference
        self.settings = settings
        self.gateway = gateway ?? SMSGateway(settings: settings)
        self.logger = logger
    }

    var decision: OutboxDecision {
        OutboxDecision(language: self.settings.language, contacts: Set(self.settings.contacts.keys))
    }

    // MARK: Deciding

    /// Reads the log after the outbox's checkpoint and adds the messages it calls for; returns the events read.
    @discardableResult
    public func follow(pageSize: Int = 500) async throws -> Int {
        let from = try await self.table.checkpoint()
        let events = try await self.store.readAll(after: from, limit: pageSize)
        guard let last = events.last else { return 0 }
        var messages: [OutboxMessage] = []
        var done: [(id: String, outcome: Delivery.Outcome)] = []
        let catalog = self.reference.catalog
        for event in events {
            switch event.stream.type {
            case Complaint.streamType:
                guard let domain = try? Complaint.Event.decode(event) else { continue }
                if let delivery = Complaint.delivery(in: domain) {
                    done.append((delivery.message, delivery.outcome))
                    continue
                }
                guard [.lodged, .resolved, .escalatedForOverdue].contains(domain.kind) else { continue }
                let loaded = try await CaseRepository<Complaint>(store: self.store)
                    .load(event.stream.id, upTo: event.streamVersion)
                guard let state = loaded.state else { continue }
                messages += self.decision.messages(
                    after: domain, state: state, id: event.stream.id, version: event.streamVersion, catalog: catalog
                ).map { $0.from(event.position) }
            case Referral.streamType:
                guard let domain = try? Referral.Event.decode(event) else { continue }
                if let delivery = Referral.delivery(in: domain) {
                    done.append((delivery.message, delivery.outcome))
                    continue
                }
                guard domain.kind == .created, case .created(let request) = domain,
                    let state = Referral.evolve(nil, .created(request))
                else { continue }
                messages += self.decision.messages(after: domain, state: state, id: event.stream.id).map {
                    $0.from(event.position)
                }
            default: continue
            }
        }
        try await self.table.write(messages, done: done, from: from, to: last.position)
        return events.count
    }

    // MARK: Sending

    var loop: RetryLoop<OutboxTable.Row> {
        RetryLoop(
            initial: self.settings.retryInitial, maximum: self.settings.retryMaximum,
            maxAttempts: self.settings.maxAttempts,
            claim: { try await self.table.claimDue(limit: 50, lease: self.claimLease).map { ($0, $0.attempts) } },
            attempt: { await self.attempt($0) },
            settle: { row, settlement in
                switch settlement {
                case .failed(let reason):
                    self.counters["failed"]?.increment()
                    try await self.table.settle(
                        row.message.id, status: "failed", gateway: self.gateway.name, error: reason)
                    try await self.recordOutcome(of: row, .failed, gatewayMessageID: nil, reason: reason)
                case .retry(let after, let reason):
                    self.counters["retried"]?.increment()
                    self.logger.info(
                        "message not sent; trying again later",
                        metadata: ["message": "\(row.message.id)", "reason": "\(reason)", "in": "\(after)"])
                    try await self.table.settle(
                        row.message.id, status: "pending", gateway: self.gateway.name, error: reason, retryIn: after)
                }
            })
    }

    /// Sends what is due; first records the outcomes a failure left unrecorded.
    @discardableResult
    public func sendDue() async throws -> Int {
        for row in try await self.table.unrecorded(limit: 50) {
            let outcome: Delivery.Outcome = row.status == "failed" ? .failed : .sent
            try await self.recordOutcome(
                of: row, outcome, gatewayMessageID: row.gatewayMessageID, reason: row.lastError)
        }
        return try await self.loop.pass()
    }

    private func attempt(_ row: OutboxTable.Row) async -> RetryLoop<OutboxTable.Row>.Attempt {
        do {
            guard let phone = try await self.phone(for: row.message) else {
                // An erased person, or a programme without a number: nobody to send it to.
                self.counters["dropped"]?.increment()
                try await self.table.settle(
                    row.message.id, status: "dropped", gateway: nil, error: "no number for \(row.message.recipient)",
                    recorded: true)
                return .done
            }
            let text = OutboxDecision.text(of: row.message)
            switch await self.gateway.send(to: phone, text: text, idempotencyKey: row.message.id) {
            case .accepted(let gatewayID):
                self.counters["sent"]?.increment()
                try await self.table.settle(
                    row.message.id, status: "sent", gateway: self.gateway.name, gatewayMessageID: gatewayID)
                try await self.recordOutcome(of: row, .sent, gatewayMessageID: gatewayID, reason: nil)
                return .done
            case .refused(let reason): return .refused(reason)
            case .failedForNow(let reason): return .failedForNow(reason)
            }
        } catch {
            return .failedForNow("\(type(of: error))")
        }
    }

    /// The number `message` goes to, now: a reply's asker, a programme's or area's contact, or the complainant's
    /// phone opened from the case (nil once erased).
    func phone(for message: OutboxMessage) async throws -> String? {
        switch message.recipient {
        case "reply": return message.replyTo
        case "complainant":
            guard let stream = message.stream, stream.type == Complaint.streamType else { return nil }
            let loaded = try await CaseRepository<Complaint>(store: self.store, vault: self.vault).load(stream.id)
            return loaded.events.first?.payload["complainant"]?["phone"]?.stringValue
        default:
            let code = message.recipient.split(separator: ":", maxSplits: 1).last.map(String.init) ?? ""
            return self.settings.contacts[code]
        }
    }

    // MARK: Recording

    /// Appends what came of `row` to its case (sent or failed, with the number and text sealed), then notes that
    /// it is recorded. A reply to a question belongs to no case and is not recorded.
    func recordOutcome(
        of row: OutboxTable.Row, _ outcome: Delivery.Outcome, gatewayMessageID: String?, reason: String?
    ) async throws {
        let message = row.message
        if let stream = message.stream, let purpose = Delivery.Purpose(rawValue: message.purpose) {
            let delivery = Delivery(
                message: message.id, purpose: purpose, outcome: outcome, gateway: self.gateway.name,
                recipient: message.recipient, to: try await self.phone(for: message),
                text: OutboxDecision.text(of: message), gatewayMessageID: gatewayMessageID, reason: reason,
                at: .now())
            try await self.record(delivery, on: stream)
        }
        try await self.table.markRecorded(message.id)
    }

    func record(_ delivery: Delivery, on stream: StreamName) async throws {
        let reference = self.reference
        switch stream.type {
        case Complaint.streamType:
            let commands = CaseCommands<Complaint>(store: self.store, vault: self.vault, reference: reference)
            _ = try await commands.record(delivery, on: stream.id, metadata: Self.metadata)
            if delivery.purpose == .outcome && delivery.outcome == .delivered {
                try await self.notifyComplainant(delivery, on: stream.id, commands)
            }
        case Referral.streamType:
            try await CaseCommands<Referral>(store: self.store, vault: self.vault, reference: reference)
                .record(delivery, on: stream.id, metadata: Self.metadata)
        default: return
        }
    }

    /// The outcome reached the complainant's phone: the complaint records them notified by SMS, as a clerk would,
    /// so that the loop can close without anyone telling them again. Once per message (its key); nothing when the
    /// complaint has moved on meanwhile (notified another way, or reopened), nor for the outcome of an earlier
    /// resolution (reopened and resolved again: the message names the version of the resolution it tells).
    private func notifyComplainant(
        _ delivery: Delivery, on id: String, _ commands: CaseCommands<Complaint>
    ) async throws {
        let resolution = try await commands.repository.load(id).events.last {
            $0.type == Complaint.EventKind.resolved.rawValue
        }
        guard let told = delivery.message.split(separator: "/").last.flatMap({ Int64($0) }),
            resolution?.streamVersion == told
        else { return }
        let key = "notified:\(Complaint.streamType)/\(id):\(delivery.message)"
        let request = CaseCommands<Complaint>.Request(
            sender: .concord, metadata: Self.metadata, idempotencyKey: key,
            requestDigest: Array(SHA256.hash(data: Array(key.utf8))))
        do {
            _ = try await commands.send(.notifyComplainant(method: .sms, at: delivery.at), to: id, request)
        } catch is Rejection {
            return
        }
    }

    /// A gateway's delivery report: the message it names was delivered, or failed with `reason`. Recorded once per
    /// message and outcome; false when no message has that gateway id.
    public func deliveryReport(gatewayMessageID: String, delivered: Bool, reason: String?) async throws -> Bool {
        guard let row = try await self.table.find(gateway: self.gateway.name, gatewayMessageID: gatewayMessageID)
        else { return false }
        try await self.table.settle(
            row.message.id, status: delivered ? "delivered" : "failed", gateway: nil, error: reason, recorded: true)
        if let stream = row.message.stream, let purpose = Delivery.Purpose(rawValue: row.message.purpose) {
            let delivery = Delivery(
                message: row.message.id, purpose: purpose, outcome: delivered ? .delivered : .failed,
                gateway: self.gateway.name, recipient: row.message.recipient, gatewayMessageID: gatewayMessageID,
                reason: reason, at: .now())
            try await self.record(delivery, on: stream)
        }
        return true
    }

    /// Queues a reply to someone who wrote (a `STATUS` question): once per gateway message, sent by the leader's
    /// next pass; the number is kept only until then.
    public func reply(to phone: String, text: String, key: String, language: String) async throws {
        try await self.table.enqueue(
            OutboxMessage(
                id: "reply/\(key)", stream: nil, purpose: "reply", recipient: "reply", language: language,
                params: ["text": text], replyTo: phone))
    }
}

extension OutboxMessage {
    func from(_ position: Int64) -> OutboxMessage {
        var message = self
        message.sourcePosition = position
        return message
    }
}
