import ConcordCore
import ConcordStore
import Foundation
import Hummingbird

/// An RFC 9457 problem document (`application/problem+json`): what went wrong and, for bad input, which field.
public struct Problem: Error, Sendable, Codable, Equatable {
    public var type: String
    public var title: String
    public var statusCode: Int
    public var detail: String
    public var field: String?
    /// For a refused command: the state the case is in and the commands it allows.
    public var currentState: String?
    public var allowedCommands: [String]?
    /// Every bad field of a request body, when there are several.
    public var errors: [FieldError]?
    /// Seconds for `Retry-After`, when trying again later can help (not part of the document).
    public var retryAfter: Int? = nil

    public struct FieldError: Sendable, Codable, Equatable {
        public var field: String
        public var reason: String
    }

    enum CodingKeys: String, CodingKey {
        case type, title, detail, field, errors
        case currentState = "current_state"
        case allowedCommands = "allowed_commands"
        case statusCode = "status"
    }

    public init(status: HTTPResponse.Status, title: String, detail: String, field: String? = nil) {
        self.type = "about:blank"
        self.title = title
        self.statusCode = status.code
        self.detail = detail
        self.field = field
        self.errors = nil
        self.currentState = nil
        self.allowedCommands = nil
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

    /// The answer, telling the client when to try again (a 503 or a 429).
    public func response(retryAfter seconds: Int) -> Response {
        var response = self.response()
        response.headers[.retryAfter] = "\(seconds)"
        return response
    }
}

extension Problem: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: self.statusCode) }
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        self.retryAfter.map(self.response(retryAfter:)) ?? self.response()
    }
}

extension Problem {
    /// 400 for a body whose members are missing, mistyped or unknown, naming every one.
    init(invalidBody error: CommandRequestError) {
        self.init(status: .badRequest, title: "Invalid request body", detail: error.description, field: error.field)
        self.errors = error.problems.map { FieldError(field: $0.field, reason: $0.reason) }
    }

    /// Runs `body`, turning the domain's and the store's refusals into problems; anything else propagates.
    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let rejection as Rejection {
            throw Problem(rejection: rejection)
        } catch let refusal as any RepositoryRefusal {
            throw refusal.problem
        }
    }

    /// 409 for a command the state does not allow (naming the state and the commands it allows); 422 for a value
    /// that makes no sense (naming the field).
    init(rejection: Rejection) {
        if let field = rejection.field {
            self.init(
                status: .unprocessableContent, title: "Invalid value", detail: rejection.description, field: field)
        } else {
            self.init(status: .conflict, title: "Command not allowed now", detail: rejection.description)
        }
        self.currentState = rejection.currentState
        self.allowedCommands = rejection.allowedCommands
    }
}

/// The repository's refusals, whatever the stream kind.
protocol RepositoryRefusal: Error {
    var problem: Problem { get }
}

extension CaseRepository.Refusal: RepositoryRefusal {
    var problem: Problem {
        switch self {
        case .versionMismatch(let current):
            return Problem(
                status: .preconditionFailed, title: "Version mismatch",
                detail: "If-Match names another version; the case is at version \(current) (ETag \"\(current)\")",
                field: "If-Match")
        case .idempotencyKeyReused:
            return Problem(
                status: .unprocessableContent, title: "Idempotency-Key reused",
                detail: "this Idempotency-Key was used for a different request; use a new key for a new request",
                field: "Idempotency-Key")
        case .tooBusy:
            return Problem(
                status: .serviceUnavailable, title: "Busy", detail: "the case changed too often meanwhile; try again")
        }
    }
}

extension CaseCommands.Refusal: RepositoryRefusal {
    var problem: Problem {
        switch self {
        case .notFound(let id):
            return Problem(
                status: .notFound, title: "Not found", detail: "no \(Kind.streamType) \(id) that you can see")
        case .notAllowed(let command):
            return Problem(
                status: .forbidden, title: "Not allowed",
                detail: "your token may not send '\(command)' to this \(Kind.streamType)")
        case .notYoursToCreate(let field):
            return Problem(
                status: .unprocessableContent, title: "Not yours to create",
                detail: "your token cannot create a \(Kind.streamType) for this \(field)", field: field)
        case .unfitReferenceCodes(let problems):
            var problem = Problem(
                status: .unprocessableContent, title: "Unknown or unfit reference code",
                detail: problems.map(\.description).joined(separator: "; "), field: problems.first?.field)
            problem.errors = problems.map { .init(field: $0.field, reason: $0.reason) }
            return problem
        case .versionMismatch(let current):
            return CaseRepository<Kind>.Refusal.versionMismatch(current: current).problem
        case .idempotencyKeyReused:
            return CaseRepository<Kind>.Refusal.idempotencyKeyReused.problem
        case .tooBusy:
            return CaseRepository<Kind>.Refusal.tooBusy.problem
        case .followUpErased(let command):
            return Problem(
                status: .conflict, title: "Personal data erased",
                detail: "\(command) was recorded, but the person's data was erased meanwhile; send the request again")
        }
    }
}
