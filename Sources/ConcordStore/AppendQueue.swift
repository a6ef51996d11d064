import ConcordCore
import Synchronization

/// One caller's append, waiting for the writer.
struct AppendRequest: Sendable {
    var stream: StreamName
    var expectedVersion: ExpectedVersion
    var events: [EventData]
    var idempotencyKey: String?
    /// Identifies what was asked, so a reused idempotency key with a different request is told apart from a retry.
    var digest: [UInt8]
    var reply: CheckedContinuation<AppendResult, any Error>
}

/// The pending appends of this process. Callers enqueue; the single writer takes everything pending at once (group
/// commit), up to a cap, and waits when there is nothing.
final class AppendQueue: Sendable {
    private struct State {
        var pending: [AppendRequest] = []
        var writer: CheckedContinuation<Void, Never>?
        var closed = false
    }
    private let state = Mutex(State())
    let maximumEventsPerBatch: Int

    init(maximumEventsPerBatch: Int = 2_000) {
        self.maximumEventsPerBatch = maximumEventsPerBatch
    }

    /// False when the queue is closed (the store is shutting down).
    func enqueue(_ request: AppendRequest) -> Bool {
        let (accepted, writer) = self.state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.closed else { return (false, nil) }
            state.pending.append(request)
            defer { state.writer = nil }
            return (true, state.writer)
        }
        writer?.resume()
        return accepted
    }

    /// How many appends wait for the writer (not counting the batch it is writing).
    var count: Int { self.state.withLock { $0.pending.count } }

    var isClosed: Bool { self.state.withLock { $0.closed } }

    /// Stops taking appends; those already queued are still written.
    func close() {
        let writer = self.state.withLock { state in
            state.closed = true
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    /// The next batch, or nil once the queue is closed and drained.
    func nextBatch() async -> [AppendRequest]? {
        while true {
            let batch = self.state.withLock { state -> [AppendRequest]? in
                guard !state.pending.isEmpty else { return state.closed ? nil : [] }
                var events = 0
                var count = 0
                for request in state.pending {
                    if count > 0 && events + request.events.count > self.maximumEventsPerBatch { break }
                    events += request.events.count
                    count += 1
                }
                defer { state.pending.removeFirst(count) }
                return Array(state.pending.prefix(count))
            }
            guard let batch else { return nil }
            if !batch.isEmpty { return batch }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if !state.pending.isEmpty || state.closed { return true }
                    state.writer = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
