import ConcordCore
import Foundation
import Logging

/// Loads a complaint, appeal or referral from its stream and runs commands on it: load, decide, append with the
/// loaded version as the expected one. A concurrent change between load and append is retried (unless the caller
/// named the version it expects, `If-Match`), so concurrent commands on one stream apply one after the other.
public struct CaseRepository<Machine: StateMachine>: Sendable {
    public let store: EventStore
    /// Seals personal objects on append and opens them on load; nil: they are stored and loaded as given.
    public let vault: PersonalDataVault?

    public init(store: EventStore, vault: PersonalDataVault? = nil) {
        self.store = store
        self.vault = vault
    }

    /// A stream's state as of a version, with the events that built it.
    public struct Loaded: Sendable {
        public var state: Machine.State?
        public var version: Int64
        public var events: [RecordedEvent]
        /// The same events, decoded.
        public var domainEvents: [Machine.Event]
    }

    /// What `handle` did.
    public struct Outcome: Sendable {
        public var loaded: Loaded
        /// True when the answer repeats an earlier request with the same idempotency key; nothing was written now.
        public var replayed: Bool
    }

    /// Why `handle` refused, besides the domain's `Rejection` (which it throws as is).
    public enum Refusal: Error, Sendable, Equatable {
        /// `If-Match` named another version than the stream's current one.
        case versionMismatch(current: Int64)
        /// The idempotency key was used before for a different request.
        case idempotencyKeyReused
        /// The stream changed under us more times than it is worth retrying.
        case tooBusy
    }

    public func stream(_ id: String) -> StreamName { StreamName(type: Machine.streamType, id: id) }

    /// The stream's events up to `version` (all when nil), decoded and folded.
    public func load(_ id: String, upTo version: Int64? = nil) async throws -> Loaded {
        try await self.load(id, upTo: version, known: PersonalDataVault.DataKeys())
    }

    func load(_ id: String, upTo version: Int64?, known: PersonalDataVault.DataKeys) async throws -> Loaded {
        var events: [RecordedEvent] = []
        while true {
            let page = try await self.store.readStream(self.stream(id), from: Int64(events.count) + 1, limit: 1_000)
            events += page.prefix { version == nil || $0.streamVersion <= version ?? 0 }
            if page.count < 1_000 || (version.map { Int64(events.count) >= $0 } ?? false) { break }
        }
        if let vault = self.vault { events = try await vault.unseal(events, known: known) }
        var domainEvents: [Machine.Event] = []
        for event in events {
            do {
                domainEvents.append(try Machine.Event.decode(event))
            } catch {
                throw EventStoreError(.corruptEvent, "\(event.type) at position \(event.position): \(error)")
            }
        }
        return Loaded(
            state: Machine.replay(domainEvents), version: Int64(events.count), events: events,
            domainEvents: domainEvents)
    }

    /// Runs `command` (built from the current state, so that a retry decides on fresh state) on stream `id`.
    ///
    /// With `idempotencyKey`, a request already answered returns that answer (the stream as of then) when
    /// `requestDigest` matches, and `idempotencyKeyReused` otherwise. `preloaded`, the stream as the caller just
    /// loaded it, saves the first load; a retry loads again.
    public func handle(
        _ id: String, ifMatch: Int64? = nil, idempotencyKey: String? = nil, requestDigest: [UInt8]? = nil,
        preloaded: Loaded? = nil, metadata: EventMetadata, command: @Sendable (Machine.State?) -> Machine.Command
    ) async throws -> Outcome {
        if let key = idempotencyKey, let earlier = try await self.store.idempotentAppend(forKey: key) {
            return try await self.replay(earlier, id: id, digest: requestDigest)
        }
        var cached = preloaded
        for _ in 0..<20 {
            let loaded: Loaded
            if let first = cached {
                loaded = first
                cached = nil
            } else {
                loaded = try await self.load(id)
            }
            if let ifMatch, ifMatch != loaded.version { throw Refusal.versionMismatch(current: loaded.version) }
            let decided: [Machine.Event]
            do {
                decided = try Machine.decide(command(loaded.state), state: loaded.state).get()
            } catch {
                // A racing copy of this keyed request may have committed between the key lookup and the load.
                if let key = idempotencyKey, let earlier = try await self.store.idempotentAppend(forKey: key) {
                    return try await self.replay(earlier, id: id, digest: requestDigest)
                }
                throw error
            }
            var events = decided.map { $0.eventData(metadata: metadata) }
            var keys = PersonalDataVault.DataKeys()
            if let vault = self.vault {
                (events, keys) = try await vault.seal(
                    events, stream: self.stream(id), subject: FreeText.subject(of: loaded.events))
            }
            do {
                let result = try await self.store.append(
                    to: self.stream(id), expectedVersion: loaded.version == 0 ? .noStream : .exact(loaded.version),
                    events: events, idempotencyKey: idempotencyKey,
                    requestDigest: requestDigest)
                if result.replayed {
                    return Outcome(loaded: try await self.load(id, upTo: result.lastVersion), replayed: true)
                }
                return Outcome(
                    loaded: try await self.load(id, upTo: result.lastVersion, known: keys), replayed: false)
            } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
                if ifMatch != nil { throw Refusal.versionMismatch(current: error.currentVersion ?? 0) }
                continue  // someone else changed the stream: decide again on what it holds now
            } catch let error as EventStoreError where error.code == .idempotencyKeyReused {
                throw Refusal.idempotencyKeyReused
            }
        }
        throw Refusal.tooBusy
    }

    private func replay(
        _ earlier: (digest: [UInt8], result: AppendResult), id: String, digest: [UInt8]?
    ) async throws
        -> Outcome
    {
        guard earlier.result.stream == self.stream(id), digest == nil || digest == earlier.digest else {
            throw Refusal.idempotencyKeyReused
        }
        return Outcome(loaded: try await self.load(id, upTo: earlier.result.lastVersion), replayed: true)
    }
}
