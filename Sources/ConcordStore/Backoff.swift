/// Waits between attempts to reach the database again: exponential with full jitter, capped low, so that a process
/// notices within a couple of seconds that the database answers again, and several processes (or services in one)
/// do not retry in step.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    private var attempt = 0

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(2)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// A backoff that has already waited `attempts` times: what a retry schedule kept in a table resumes from.
    public init(initial: Duration, maximum: Duration, attempts: Int) {
        self.init(initial: initial, maximum: maximum)
        self.attempt = max(0, attempts)
    }

    /// The next wait: a random duration up to `initial * 2^attempt`, no more than `maximum`, and at least a tenth of
    /// `initial` (never a busy loop).
    public mutating func next() -> Duration {
        let ceiling = min(self.initial * (1 << min(self.attempt, 20)), self.maximum)
        self.attempt += 1
        let floor = self.initial / 10
        return max(floor, ceiling * Double.random(in: 0...1))
    }

    /// After a success: the next failure starts again from `initial`.
    public mutating func reset() { self.attempt = 0 }

    /// Sleeps for the next wait; throws `CancellationError` when the task is cancelled.
    public mutating func wait() async throws {
        try await Task.sleep(for: self.next())
    }
}
