import ConcordStore
import Hummingbird
import Logging
import PostgresNIO

/// The outermost middleware: every error becomes `application/problem+json`. A database that cannot be reached is
/// 503 with `Retry-After` (the request changed nothing: no 2xx is sent before a commit); anything else unexpected
/// is 500, logged without request data.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ConcordRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.retryAfter.map(problem.response(retryAfter:)) ?? problem.response()
        } catch let error as any HTTPResponseError {
            return Problem(status: error.status, title: error.status.reasonPhrase, detail: error.status.reasonPhrase)
                .response()
        } catch {
            if Self.isUnavailable(error) {
                return Problem(
                    status: .serviceUnavailable, title: "Database unavailable",
                    detail:
                        "the event log cannot be reached, so whether the request took effect is not known: send it "
                        + "again shortly with the same Idempotency-Key, which answers as the first attempt did"
                ).response(retryAfter: 5)
            }
            context.logger.error("unexpected error", metadata: ["error": "\(safeDescription(of: error))"])
            return Problem(
                status: .internalServerError, title: "Internal error", detail: "an unexpected error occurred"
            )
            .response()
        }
    }

    /// Connection failures, a pool that cannot connect, a server shutting down (the database's or this process's).
    static func isUnavailable(_ error: any Error) -> Bool {
        if error is DatabaseTimeout || error is DatabaseUnavailable || error is ConnectionLost { return true }
        if let error = error as? EventStoreError, error.code == .shuttingDown { return true }
        if let error = error as? PSQLError {
            guard let state = error.serverInfo?[.sqlState] else { return true }  // no server answer: connection
            // connection exception, operator intervention, a read-only server (a standby during a failover)
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "25006"
        }
        return String(describing: type(of: error)).contains("ConnectionPool")
    }
}
