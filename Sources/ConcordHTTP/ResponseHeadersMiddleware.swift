import Hummingbird

/// Headers every answer carries: `X-Content-Type-Options: nosniff` (a browser never guesses a type, so a JSON
/// answer holding a complainant's text cannot be run as a page) and `Cache-Control: no-store` (answers carry
/// personal data and access-scoped lists: no cache, shared or private, may keep them).
struct ResponseHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
