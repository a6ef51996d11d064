import ConcordCore
import ConcordStore
import CoreMetrics
import Prometheus

/// One application's metrics: the Prometheus registry that `/metrics` renders and the swift-metrics factory that
/// writes into it, with buckets fitted to what Concord measures. One per application (tests run many applications
/// in one process, each with its own figures); `concord serve` also makes its factory the process-wide backend.
public struct ConcordMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.requestBuckets
        factory.durationHistogramBuckets = [AppendStatistics.commitDurationMetric: Self.commitBuckets]
        factory.valueHistogramBuckets = [
            AppendStatistics.batchRequestsMetric: Self.batchBuckets,
            AppendStatistics.batchEventsMetric: Self.batchBuckets,
        ]
        self.factory = factory
        registry.makeGauge(
            descriptor: Self.name("build_info", help: "Always 1; the labels say which build answers."),
            labels: [("version", BuildInfo.version)]
        ).set(to: 1)
    }

    /// `concord_<name>[_<unit>]`, with its help text.
    static func name(_ name: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "concord", metricName: name, unitName: unit, helpText: help)
    }

    /// HTTP answers: from a cached read (about 1 ms) to the 30 s deadline of the indicators.
    static let requestBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .microseconds(2_500_000), .seconds(5), .seconds(10), .seconds(30),
    ]
    /// A group commit: a quarter of a millisecond with a fast fsync, seconds when the disk stalls.
    static let commitBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(4),
        .milliseconds(8), .milliseconds(16), .milliseconds(32), .milliseconds(64), .milliseconds(128),
        .milliseconds(256), .milliseconds(512), .seconds(1), .seconds(2), .seconds(5),
    ]
    /// Requests or events in one batch: powers of two up to the writer's 2,000-event cap.
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
}
