import ConcordCore
import Crypto
import Hummingbird

/// Reading a JSON command body: size limit, media type, strict JSON (no fractional numbers, no duplicate keys).
enum RequestBody {
    static let limit = 64 * 1024

    /// The body's bytes and its JSON, or the problem to answer.
    static func json(
        _ request: Request, context: ConcordRequestContext
    ) async throws -> (bytes: [UInt8], value: JSONValue) {
        try Self.requireJSON(request.headers[.contentType])
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.limit)
        } catch {
            throw Problem(
                status: .contentTooLarge, title: "Body too large",
                detail: "a request body may hold at most \(Self.limit) bytes")
        }
        let bytes = Array(buffer: buffer)
        do {
            return (bytes, try JSONParser.parse(bytes))
        } catch {
            // `field` names the member at fault (an integer out of range, a key Concord refuses), "" for the body.
            throw Problem(status: .badRequest, title: "Malformed JSON", detail: error.description, field: error.field)
        }
    }

    /// Every command takes a JSON body (`{}` when it has no members), so a missing Content-Type is refused as
    /// surely as another type: the server never guesses what a body is.
    static func requireJSON(_ contentType: String?) throws {
        guard let contentType else {
            throw Problem(
                status: .unsupportedMediaType, title: "Unsupported media type",
                detail: "send the body with Content-Type: application/json", field: "Content-Type")
        }
        guard MediaType(contentType)?.isJSON == true else {
            throw Problem(
                status: .unsupportedMediaType, title: "Unsupported media type",
                detail: "Content-Type must be application/json or a +json type (UTF-8), not \(contentType)",
                field: "Content-Type")
        }
    }

    /// What identifies a request for idempotency: who sent it, where, and what.
    static func digest(_ request: Request, principal: Principal, body: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array("\(request.method) \(request.uri.path)\n\(principal.requester)\n".utf8))
        hasher.update(data: body)
        return Array(hasher.finalize())
    }
}
