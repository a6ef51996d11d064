import Hummingbird
import Logging

/// One log line per request, written when it is answered: method, path (without the query, which may carry
/// personal data), status and duration.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            self.log(request, context: context, status: response.status.code, since: start)
            return response
        } catch let error as any HTTPResponseError {
            self.log(request, context: context, status: error.status.code, since: start)
            throw error
        } catch {
            self.log(request, context: context, status: 500, since: start)
            throw error
        }
    }

    private func log(_ request: Request, context: Context, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.info(
            "\(request.method) \(request.uri.path) \(status)",
            metadata: ["status": "\(status)", "ms": "\((milliseconds * 100).rounded() / 100)"])
    }
}
