import Synchronization

/// Counters of the writer's work, for benchmarks and metrics: how well group commit is grouping.
public final class AppendStatistics: Sendable {
    private let counters = Mutex((batches: 0, requests: 0, events: 0))

    func record(batch requests: Int, events: Int) {
        self.counters.withLock { counters in
            counters.batches += 1
            counters.requests += requests
            counters.events += events
        }
    }

    public var snapshot: (batches: Int, requests: Int, events: Int) { self.counters.withLock { $0 } }
}
