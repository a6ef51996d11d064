import Hummingbird
import Prometheus
import Synchronization

/// Counts every answer and its latency by route template (`/v1/complaints/{id}`, never the path itself: ids and
/// codes stay out of the labels), method and status. The latency runs until the answer's head is ready; a streamed
/// body (the audit export) goes on after it.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = ConcordRequestContext
    let series: HTTPSeries
    let inFlight: Gauge

    init(metrics: ConcordMetrics) {
        self.series = HTTPSeries(registry: metrics.registry)
        self.inFlight = metrics.registry.makeGauge(
            descriptor: ConcordMetrics.name("http_requests_in_flight", help: "Requests being answered now."))
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let start = ContinuousClock.now
        self.inFlight.increment()
        defer { self.inFlight.decrement() }
        do {
            let response = try await next(request, context)
            self.record(request, context: context, status: response.status.code, since: start)
            return response
        } catch let error as any HTTPResponseError {
            self.record(request, context: context, status: error.status.code, since: start)
            throw error
        } catch {
            self.record(request, context: context, status: 500, since: start)
            throw error
        }
    }

    private func record(_ request: Request, context: Context, status: Int, since start: ContinuousClock.Instant) {
        let key = HTTPSeries.Key(
            route: Self.route(context.endpointPath), method: Self.method(request.method), status: status)
        let (counter, histogram) = self.series.of(key)
        counter.increment()
        histogram.record(ContinuousClock.now - start)
    }

    /// The method, or `other` for the rarer ones the HTTP parser lets through (WebDAV's and the like).
    static func method(_ method: HTTPRequest.Method) -> String {
        let common: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]
        return common.contains(method) ? method.rawValue : "other"
    }

    /// The matched route's template; one label for every path that matched none (so a scan cannot grow the series).
    static func route(_ endpoint: String?) -> String {
        guard let endpoint, endpoint != "NotFound" else { return "unmatched" }
        return endpoint
    }
}

/// The request counter and latency histogram of each route, method and status, made once: the registry checks
/// names and labels on every lookup, which the intake path need not pay per request.
final class HTTPSeries: Sendable {
    struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private let registry: PrometheusCollectorRegistry
    private let made = Mutex<[Key: (Counter, DurationHistogram)]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func of(_ key: Key) -> (Counter, DurationHistogram) {
        self.made.withLock { made in
            if let series = made[key] { return series }
            let labels = [("route", key.route), ("method", key.method), ("status", "\(key.status)")]
            let series = (
                self.registry.makeCounter(
                    descriptor: ConcordMetrics.name("http_requests", unit: "total", help: "HTTP requests answered."),
                    labels: labels),
                self.registry.makeDurationHistogram(
                    descriptor: ConcordMetrics.name(
                        "http_request_duration", unit: "seconds", help: "Time until the answer's head was ready."),
                    labels: labels, buckets: ConcordMetrics.requestBuckets)
            )
            made[key] = series
            return series
        }
    }
}
