import ConcordCore
import ConcordPartners
import ConcordStore
import Foundation
import Hummingbird

/// `/v1/webhooks`: admins subscribe partner systems and programmes to the case events they may read. A secret is
/// shown when it is made (creation, rotation), never again.
struct WebhookController: Sendable {
    let webhooks: WebhookStore
    let reference: ReferenceFollower
    let settings: WebhookSettings

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/webhooks") { _, context in try await self.list(context) }
        router.post("v1/webhooks") { request, context in try await self.create(request, context) }
        router.get("v1/webhooks/:id") { _, context in try await self.show(context) }
        router.patch("v1/webhooks/:id") { request, context in try await self.update(request, context) }
        router.post("v1/webhooks/:id/rotate") { _, context in try await self.rotate(context) }
        router.post("v1/webhooks/:id/disable") { _, context in try await self.setActive(false, context) }
        router.post("v1/webhooks/:id/enable") { _, context in try await self.setActive(true, context) }
        router.post("v1/webhooks/:id/replay") { request, context in try await self.replay(request, context) }
    }

    func list(_ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let found = try await Self.mapping { try await withDatabaseDeadline { try await self.webhooks.list() } }
        return JSONResponse.make(["webhooks": .array(found.map(\.json))], status: .ok)
    }

    func show(_ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let id = try Self.id(context)
        let found = try await Self.mapping { try await withDatabaseDeadline { try await self.webhooks.find(id) } }
        return JSONResponse.make(found.json, status: .ok)
    }

    func create(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let (_, body) = try await RequestBody.json(request, context: context)
        var reader = BodyReader(
            body, allowed: ["url", "event_types", "role", "scope", "focal_point", "label", "from_position"])
        let url = reader.string("url", required: true) ?? ""
        let eventTypes = Self.strings(&reader, "event_types") ?? []
        let role = reader.role(required: true)
        let scope = reader.string("scope", required: false)
        let focalPoint = reader.bool("focal_point") ?? false
        let label = reader.string("label", required: false)
        let fromPosition = Self.position(&reader, "from_position", required: false)
        try reader.finish()
        guard let role else { throw Problem(status: .badRequest, title: "Invalid request body", detail: "role") }
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
        let request = WebhookRequest(
            url: url, eventTypes: eventTypes, role: role, scope: scope, focalPoint: focalPoint, label: label,
            fromPosition: fromPosition)
        let (subscription, secret) = try await Self.mapping {
            try await self.webhooks.create(request, catalog: reference.data.catalog)
        }
        var response = JSONResponse.make(
            ["webhook": subscription.json, "secret": .string(secret)], status: .created)
        response.headers[.location] = "/v1/webhooks/\(subscription.id.uuidString.lowercased())"
        return response
    }

    /// A merge patch of `url`, `event_types` and `label`; what the subscriber reads as (role, scope) is fixed: a
    /// new scope is a new subscription.
    func update(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let id = try Self.id(context)
        let (_, body) = try await RequestBody.json(request, context: context)
        var reader = BodyReader(body, allowed: ["url", "event_types", "label"])
        let url = reader.string("url", required: false)
        let eventTypes = Self.strings(&reader, "event_types")
        let label = reader.string("label", required: false)
        try reader.finish()
        let updated = try await Self.mapping {
            try await self.webhooks.update(id, url: url, eventTypes: eventTypes, label: label)
        }
        return JSONResponse.make(updated.json, status: .ok)
    }

    func rotate(_ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let id = try Self.id(context)
        let (subscription, secret) = try await Self.mapping {
            try await self.webhooks.rotate(id, overlap: self.settings.rotationOverlap)
        }
        return JSONResponse.make(["webhook": subscription.json, "secret": .string(secret)], status: .ok)
    }

    func setActive(_ active: Bool, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let id = try Self.id(context)
        let changed = try await Self.mapping { try await self.webhooks.setActive(id, active) }
        return JSONResponse.make(changed.json, status: .ok)
    }

    func replay(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let id = try Self.id(context)
        let (_, body) = try await RequestBody.json(request, context: context)
        var reader = BodyReader(body, allowed: ["from_position"])
        let from = Self.position(&reader, "from_position", required: true)
        try reader.finish()
        let changed = try await Self.mapping { try await self.webhooks.replay(id, from: from ?? 1) }
        return JSONResponse.make(changed.json, status: .ok)
    }

    // MARK: Helpers

    @discardableResult
    static func requireAdmin(_ context: ConcordRequestContext) throws -> Principal {
        let principal = try context.requirePrincipal()
        guard principal.role == .admin else {
            throw Problem(status: .forbidden, title: "Not allowed", detail: "only admins manage webhooks")
        }
        return principal
    }

    static let notFound = Problem(status: .notFound, title: "Not found", detail: "no such webhook subscription")

    static func id(_ context: ConcordRequestContext) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameters.require("id")) else { throw Self.notFound }
        return id
    }

    static func strings(_ reader: inout BodyReader, _ field: String) -> [String]? {
        switch reader.body[field] {
        case nil, .null?: return nil
        case .array(let items)? where items.allSatisfy({ $0.stringValue != nil }):
            return items.compactMap(\.stringValue)
        default:
            reader.problem(field, "must be a list of event types, e.g. [\"org.concord.complaint.lodged\"]")
            return nil
        }
    }

    static func position(_ reader: inout BodyReader, _ field: String, required: Bool) -> Int64? {
        switch reader.body[field] {
        case .integer(let value)? where value >= 1: return value
        case nil, .null?:
            if required { reader.problem(field, "is required: the first log position to send again") }
            return nil
        default:
            reader.problem(field, "must be a log position: a whole number, 1 or more")
            return nil
        }
    }

    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let refusal as WebhookRefusal {
            switch refusal {
            case .notFound: throw Self.notFound
            case .unknownStoredRole: throw refusal
            case .invalid(let problems):
                var problem = Problem(
                    status: .unprocessableContent, title: "Invalid value", detail: refusal.description,
                    field: problems.first?.field)
                problem.errors = problems.map { .init(field: $0.field, reason: $0.reason) }
                throw problem
            }
        }
    }
}
