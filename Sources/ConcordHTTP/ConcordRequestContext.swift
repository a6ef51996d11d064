import ConcordCore
import ConcordStore
import Hummingbird
import Logging
import NIOCore

/// The request context: Hummingbird's core storage plus the caller, once authenticated.
public struct ConcordRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    /// The client's address, for per-client rate limits.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The authenticated caller, or 401.
    func requirePrincipal() throws -> Principal {
        guard let principal = self.principal else {
            throw Problem(
                status: .unauthorized, title: "Not authenticated",
                detail: "send an API token as 'Authorization: Bearer <token>'")
        }
        return principal
    }
}

/// Reads `Authorization: Bearer <token>`. A request without one goes on unauthenticated (the public routes need
/// none); a request with a bad one is refused at once, so that a typo is not mistaken for anonymous access.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = ConcordRequestContext
    let tokens: TokenStore

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        let parts = header.split(separator: " ", maxSplits: 1)
        let secret = parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : ""
        let tokens = self.tokens
        let found = try await withDatabaseDeadline { try await tokens.authenticate(secret) }
        guard let principal = found else {
            throw Problem(
                status: .unauthorized, title: "Not authenticated",
                detail: "the API token is unknown, malformed or revoked")
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}
