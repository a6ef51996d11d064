import Foundation
import Hummingbird

/// An RFC 9457 problem document (`application/problem+json`): what went wrong and, for bad input, which field.
public struct Problem: Error, Sendable, Codable, Equatable {
    public var type: String
    public var title: String
    public var statusCode: Int
    public var detail: String
    public var field: String?

    enum CodingKeys: String, CodingKey {
        case type, title, detail, field
        case statusCode = "status"
    }

    public init(status: HTTPResponse.Status, title: String, detail: String, field: String? = nil) {
        self.type = "about:blank"
        self.title = title
        self.statusCode = status.code
        self.detail = detail
        self.field = field
    }

    public func response() -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(self)) ?? Data(#"{"title":"Internal error"}"#.utf8)
        return Response(
            status: HTTPResponse.Status(code: self.statusCode),
            headers: [.contentType: "application/problem+json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Problem: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: self.statusCode) }
    public func response(from request: Request, context: some RequestContext) throws -> Response { self.response() }
}
