import ConcordStore

/// At-least-once delivery over a queue kept in a table: each pass takes what is due, attempts each job, and
/// settles it: done, failed for good, or again later after an exponential backoff with jitter (`Backoff`, resumed
/// from the job's attempt count). Knows nothing of SMS: any outbound delivery (a webhook) can run on it by giving
/// its own `claim`, `attempt` and `settle`.
public struct RetryLoop<Job: Sendable>: Sendable {
    /// What one attempt came to.
    public enum Attempt: Sendable, Equatable {
        /// Delivered, and settled by the attempt itself (it knows what to keep: a gateway's id).
        case done
        /// Refused for good: retrying cannot help.
        case refused(String)
        /// Failed this time: try again later.
        case failedForNow(String)
    }

    /// What the queue must record for a job that is not done.
    public enum Settlement: Sendable, Equatable {
        case failed(String)
        case retry(after: Duration, reason: String)
    }

    public var initial: Duration
    public var maximum: Duration
    public var maxAttempts: Int
    /// The jobs due now, each with the number of attempts made so far, this one included.
    public var claim: @Sendable () async throws -> [(job: Job, attempts: Int)]
    public var attempt: @Sendable (Job) async -> Attempt
    public var settle: @Sendable (Job, Settlement) async throws -> Void

    public init(
        initial: Duration, maximum: Duration, maxAttempts: Int,
        claim: @escaping @Sendable () async throws -> [(job: Job, attempts: Int)],
        attempt: @escaping @Sendable (Job) async -> Attempt,
        settle: @escaping @Sendable (Job, Settlement) async throws -> Void
    ) {
        self.initial = initial
        self.maximum = maximum
        self.maxAttempts = maxAttempts
        self.claim = claim
        self.attempt = attempt
        self.settle = settle
    }

    /// One pass over what is due; returns how many jobs it attempted.
    @discardableResult
    public func pass() async throws -> Int {
        let due = try await self.claim()
        for (job, attempts) in due {
            try Task.checkCancellation()
            switch await self.attempt(job) {
            case .done: continue
            case .refused(let reason): try await self.settle(job, .failed(reason))
            case .failedForNow(let reason) where attempts >= self.maxAttempts:
                try await self.settle(job, .failed("gave up after \(attempts) attempts: \(reason)"))
            case .failedForNow(let reason):
                try await self.settle(job, .retry(after: self.delay(afterAttempts: attempts), reason: reason))
            }
        }
        return due.count
    }

    /// The wait before the next attempt: up to `initial * 2^(attempts-1)`, at most `maximum`.
    public func delay(afterAttempts attempts: Int) -> Duration {
        var backoff = Backoff(initial: self.initial, maximum: self.maximum, attempts: max(0, attempts - 1))
        return backoff.next()
    }
}
