import CoreMetrics
import Synchronization

/// Counters of the writer's work, for benchmarks and metrics: how well group commit is grouping and how long a
/// commit takes. The figures go to swift-metrics too, through the factory the store was given (the application
/// chooses the backend; the store knows only swift-metrics).
public final class AppendStatistics: Sendable {
    private let counters = Mutex((batches: 0, requests: 0, events: 0))
    private let metrics: AppendMetrics

    init(factory: any MetricsFactory) {
        self.metrics = AppendMetrics(factory: factory)
    }

    /// One committed batch: how many append requests it answered, how many events it wrote, how long it took.
    func record(batch requests: Int, events: Int, duration: Duration) {
        self.counters.withLock { counters in
            counters.batches += 1
            counters.requests += requests
            counters.events += events
        }
        self.metrics.batches.increment()
        self.metrics.events.increment(by: events)
        self.metrics.batchRequests.record(requests)
        self.metrics.batchEvents.record(events)
        self.metrics.commitDuration.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// A batch the database refused or could not take (each request was answered with the error).
    func recordFailure() {
        self.metrics.failures.increment()
    }

    public var snapshot: (batches: Int, requests: Int, events: Int) { self.counters.withLock { $0 } }

    /// The metric names whose buckets a backend may want to fit (latencies in milliseconds, sizes up to a batch).
    public static let commitDurationMetric = AppendMetrics.commitDurationLabel
    public static let batchRequestsMetric = AppendMetrics.batchRequestsLabel
    public static let batchEventsMetric = AppendMetrics.batchEventsLabel

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The writer's swift-metrics handles; their names are the Prometheus names (docs/operations.md lists them).
struct AppendMetrics: Sendable {
    static let commitDurationLabel = "concord_append_commit_duration_seconds"
    static let batchRequestsLabel = "concord_append_batch_requests"
    static let batchEventsLabel = "concord_append_batch_events"

    let batches: CoreMetrics.Counter
    let events: CoreMetrics.Counter
    let failures: CoreMetrics.Counter
    let batchRequests: Recorder
    let batchEvents: Recorder
    let commitDuration: CoreMetrics.Timer

    init(factory: any MetricsFactory) {
        self.batches = CoreMetrics.Counter(label: "concord_append_batches_total", factory: factory)
        self.events = CoreMetrics.Counter(label: "concord_appended_events_total", factory: factory)
        self.failures = CoreMetrics.Counter(label: "concord_append_batch_failures_total", factory: factory)
        self.batchRequests = Recorder(label: Self.batchRequestsLabel, aggregate: true, factory: factory)
        self.batchEvents = Recorder(label: Self.batchEventsLabel, aggregate: true, factory: factory)
        self.commitDuration = CoreMetrics.Timer(label: Self.commitDurationLabel, factory: factory)
    }
}
