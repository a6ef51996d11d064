import ConcordCore
import ConcordStore
import Hummingbird
import Logging
import NIOCore

/// The request context: Hummingbird's core storage plus the caller, once authenticated.
public struct ConcordRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    /// A session cookie came with the request, but its session is over (signed out, expired): said in the 401.
    public var staleSession = false
    /// The client's address, for per-client rate limits.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
        self.staleSession = false
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The authenticated caller, or 401.
    func requirePrincipal() throws -> Principal {
        guard let principal = self.principal else {
            throw Problem(
                status: .unauthorized, title: "Not authenticated",
                detail: self.staleSession
                    ? "your session has ended (signed out, expired or left idle): sign in again"
                    : "sign in (POST /v1/sessions) or send an API token as 'Authorization: Bearer <token>'")
        }
        return principal
    }
}

/// Reads `Authorization: Bearer <token or session>`, else the session cookie. A request with neither goes on
/// unauthenticated (the public routes need none); a request with a bad bearer is refused at once, so that a typo is
/// not mistaken for anonymous access. A cookie whose session is over goes on unauthenticated (a browser keeps
/// sending it to public pages), and the routes that need a caller say that the session ended.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = ConcordRequestContext
    /// The cookie that carries a browser's session secret.
    static let cookie = "concord_session"
    let credentials: Credentials

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let credentials = self.credentials
        var context = context
        guard let header = request.headers[.authorization] else {
            guard let cookie = request.cookies[Self.cookie]?.value, !cookie.isEmpty else {
                return try await next(request, context)
            }
            context.principal = try await withDatabaseDeadline { try await credentials.authenticate(cookie) }
            context.staleSession = context.principal == nil
            return try await next(request, context)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        let secret = parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : ""
        let found = try await withDatabaseDeadline { try await credentials.authenticate(secret) }
        guard let principal = found else {
            throw Problem(
                status: .unauthorized, title: "Not authenticated",
                detail: "the API token or session is unknown, malformed, revoked, expired or signed out")
        }
        context.principal = principal
        return try await next(request, context)
    }
}
