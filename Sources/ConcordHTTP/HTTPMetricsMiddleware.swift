import Hummingbird
import Prometheus

/// Counts every answer and its latency by route template (`/v1/complaints/{id}`, never the path itself: ids and
/// codes stay out of the labels), method and status. The latency runs until the answer's head is ready; a streamed
/// body (the audit export) goes on after it.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = ConcordRequestContext
    let metrics: ConcordMetrics
    let inFlight: Gauge

    init(metrics: ConcordMetrics) {
        self.metrics = metrics
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
        let labels = [
            ("route", Self.route(context.endpointPath)), ("method", Self.method(request.method)),
            ("status", "\(status)"),
        ]
        let registry = self.metrics.registry
        registry.makeCounter(
            descriptor: ConcordMetrics.name("http_requests", unit: "total", help: "HTTP requests answered."),
            labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: ConcordMetrics.name(
                "http_request_duration", unit: "seconds", help: "Time until the answer's head was ready."),
            labels: labels, buckets: ConcordMetrics.requestBuckets
        ).record(ContinuousClock.now - start)
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
