import ConcordCore
import ConcordStore
import CoreMetrics
import Hummingbird
import Synchronization

/// `GET /v1/track/{code}`: no login; kind, status, dates and next step only. A mistyped code (its check character
/// does not match) is told apart from one that is well formed but unknown. Rate-limited per client address.
struct TrackingController: Sendable {
    let store: EventStore
    let limiter: RateLimiter

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/track/:code") { request, context in try await self.track(request, context: context) }
    }

    func track(_ request: Request, context: ConcordRequestContext) async throws -> Response {
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        guard self.limiter.allow(client) else {
            return Problem(
                status: .tooManyRequests, title: "Too many requests",
                detail: "at most \(self.limiter.capacity) lookups per minute from one address"
            ).response(retryAfter: 60)
        }
        let text = try context.parameters.require("code")
        let code: TrackingCode
        switch TrackingCode.parse(text) {
        case .success(let parsed): code = parsed
        case .failure(.checkFailed):
            throw Problem(
                status: .badRequest, title: "Mistyped tracking code",
                detail: "this tracking code has a typo: check each character and try again", field: "code")
        case .failure(let error):
            throw Problem(status: .badRequest, title: "Not a tracking code", detail: error.description, field: "code")
        }
        // No login before it, so nothing else bounds its wait: without a deadline a lookup during an outage hangs
        // for as long as the pool keeps trying (503 with Retry-After instead, like every other route).
        let store = self.store
        let body: JSONValue? = try await withDatabaseDeadline {
            switch code.kind {
            case .complaint: try await Self.view(CaseRepository<Complaint>(store: store), code.text)
            case .appeal: try await Self.view(CaseRepository<Appeal>(store: store), code.text)
            case .referral: try await Self.view(CaseRepository<Referral>(store: store), code.text)
            }
        }
        guard let body else {
            throw Problem(
                status: .notFound, title: "Unknown tracking code", detail: "no case has the code \(code.text)")
        }
        return JSONResponse.make(body, status: .ok)
    }

    static func view<Machine: StateViews>(
        _ repository: CaseRepository<Machine>, _ id: String
    ) async throws -> JSONValue? {
        guard let state = try await repository.load(id).state else { return nil }
        guard case .object(var members) = Machine.trackingView(state) else { return nil }
        members["code"] = .string(id)
        return .object(members)
    }
}

/// A fixed-window limiter: at most `capacity` requests per client per minute. In memory, per process.
final class RateLimiter: Sendable {
    let capacity: Int
    /// The service's clock, so a test decides which minute its requests fall in.
    private let clock: WallClock
    private let windows = Mutex<[String: (minute: Int64, count: Int)]>([:])
    /// Lookups refused with 429 (`concord_tracking_rate_limited_total`).
    private let refusals: CoreMetrics.Counter

    init(capacity: Int, clock: WallClock = .system, metrics: any MetricsFactory = MetricsSystem.factory) {
        self.capacity = capacity
        self.clock = clock
        self.refusals = CoreMetrics.Counter(label: "concord_tracking_rate_limited_total", factory: metrics)
    }

    func allow(_ client: String) -> Bool {
        let minute = self.clock.now().microsecondsSinceEpoch / 60_000_000
        let allowed = self.windows.withLock { windows in
            if windows.count > 100_000 { windows = windows.filter { $0.value.minute == minute } }
            let earlier = windows[client].flatMap { $0.minute == minute ? $0.count : nil } ?? 0
            windows[client] = (minute, earlier + 1)
            return earlier + 1 <= self.capacity
        }
        if !allowed { self.refusals.increment() }
        return allowed
    }
}
