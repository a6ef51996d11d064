import ConcordCore
import ConcordStore
import Crypto
import Foundation
import Hummingbird

/// `GET /v1/reference`: what a form's drop-downs offer (programmes with the service types they own, service types,
/// categories, channels, the area tree, offices), for any signed-in caller. The answer holds no personal data and
/// changes only with the reference data, so browsers may keep it a while and revalidate with its strong ETag.
struct ReferenceController: Sendable {
    let reference: ReferenceFollower
    /// How long a browser may use its copy without asking again.
    static let maxAge = 300

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("v1/reference") { request, context in try await self.show(request, context) }
    }

    func show(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        _ = try context.requirePrincipal()
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
        let body = CanonicalJSON.encode(Self.document(reference.data.catalog))
        // The ETag is the body's digest: equal on every node for equal reference data, new with any change.
        let etag = "\"" + SHA256.hash(data: body).prefix(16).map { String(format: "%02x", $0) }.joined() + "\""
        var headers: HTTPFields = [
            .eTag: etag, .cacheControl: "private, max-age=\(Self.maxAge)", .vary: "Authorization, Cookie",
        ]
        if Self.matches(request.headers[.ifNoneMatch], etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// `If-None-Match`: `*`, or a list of ETags (weak ones compare by their opaque part, as RFC 9110 says).
    static func matches(_ header: String?, _ etag: String) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { candidate in
            var text = candidate.trimmingCharacters(in: .whitespaces)
            if text == "*" { return true }
            if text.hasPrefix("W/") { text = String(text.dropFirst(2)) }
            return text == etag
        }
    }

    static func document(_ catalog: ReferenceCatalog) -> JSONValue {
        let services = catalog.serviceTypes.values.sorted { $0.code < $1.code }
        let programmes: [JSONValue] = catalog.programmes.values.sorted { $0.code < $1.code }.map { programme in
            [
                "code": .string(programme.code), "name": .string(programme.name), "agency": .string(programme.agency),
                "contributory": .bool(programme.contributory),
                "appeal_window_days": .integer(Int64(programme.appealWindowDays)),
                "service_types": .array(services.filter { $0.programme == programme.code }.map { .string($0.code) }),
            ]
        }
        let roots = catalog.areas.values.filter { $0.parent == nil || catalog.area($0.parent ?? "") == nil }
        return [
            "programmes": .array(programmes),
            "service_types": .array(
                services.map { service in
                    [
                        "code": .string(service.code), "name": .string(service.name),
                        "programme": service.programme.map(JSONValue.string) ?? .null,
                    ]
                }),
            "categories": .array(
                Complaint.Category.allCases.map { category in
                    ["code": .string(category.rawValue), "always_sensitive": .bool(category.isAlwaysSensitive)]
                }),
            "channels": .array(Complaint.Channel.allCases.map { .string($0.rawValue) }),
            "areas": .array(roots.sorted { $0.code < $1.code }.map { Self.tree($0, catalog, depth: 0) }),
            "offices": .array(
                catalog.offices.values.sorted { $0.code < $1.code }.map { office in
                    [
                        "code": .string(office.code), "name": .string(office.name), "area": .string(office.area),
                        "mobile": .bool(office.mobile),
                    ]
                }),
        ]
    }

    /// An area with the areas below it; the depth bound keeps a (refused, but possible) cycle from looping.
    static func tree(_ area: Area, _ catalog: ReferenceCatalog, depth: Int) -> JSONValue {
        let children = depth > 8 ? [] : catalog.children(ofArea: area.code)
        return [
            "code": .string(area.code), "name": .string(area.name), "level": .string(area.level.rawValue),
            "children": .array(children.map { Self.tree($0, catalog, depth: depth + 1) }),
        ]
    }
}
