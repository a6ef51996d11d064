import ConcordCore
import Crypto

extension CaseCommands where Kind: RecordsDeliveries {
    /// Records what happened to a message Concord sent about case `id`, through the same seal-and-append as every
    /// command: once per message and outcome (the idempotency key names both), so a sender that retries after a
    /// crash records it once. The phone number and text are kept only when the case has a subject to seal them
    /// with; an anonymous case's history says that a message was sent, not to whom.
    @discardableResult
    public func record(_ delivery: Delivery, on id: String, metadata: EventMetadata) async throws -> Answer {
        let key = "delivery:\(Kind.streamType)/\(id):\(delivery.message):\(delivery.outcome.rawValue)"
        let request = Request(
            sender: .concord, metadata: metadata, idempotencyKey: key,
            requestDigest: Array(SHA256.hash(data: Array(key.utf8))))
        if let earlier = try await self.store.idempotentAppend(forKey: key) {
            let loaded = try await self.repository.load(earlier.result.stream.id, upTo: earlier.result.lastVersion)
            return Answer(id: id, loaded: loaded, replayed: true, followUps: [])
        }
        for _ in 0..<20 {
            let loaded = try await self.repository.load(id)
            guard loaded.state != nil else { throw Refusal.notFound(id: id) }
            var recorded = delivery
            if FreeText.subject(of: loaded.events) == nil { (recorded.to, recorded.text) = (nil, nil) }
            do {
                return try await self.append([Kind.event(recording: recorded)], to: id, after: loaded, request)
            } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
                continue  // the case moved on meanwhile: append after what it holds now
            }
        }
        throw Refusal.tooBusy
    }
}
