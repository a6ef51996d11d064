import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// The complaint pages: lodge and the slip (the case page is every kind's: WebCasePage.swift).
extension WebController {
    func addComplaintRoutes(to router: Router<ConcordRequestContext>) {
        router.get("complaints/new") { request, context in try await self.newComplaint(request, context) }
        router.post("complaints") { request, context in try await self.lodge(request, context) }
        router.get("complaints/:id/slip") { request, context in try await self.slip(request, context) }
        self.addCaseRoutes(Complaint.self, to: router)
    }

    func slip(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let id = try context.parameters.require("id")
        guard let state = try await self.readable(Complaint.self, id, principal)?.state else {
            return self.notFound(visit)
        }
        let office = self.reference.data.catalog.office(state.office)?.name ?? state.office
        return self.render(
            "slip", title: "slip.title", visit,
            ["code": id, "lodged_at": visit.locale.format(state.lodgedAt), "office": office])
    }

    // MARK: Lodging

    func newComplaint(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        guard AccessPolicy.canCreate(principal, author: principal.scope), WebPage.lodge.opens(principal) else {
            return self.forbidden(visit)
        }
        try await self.referenceReady()
        return self.lodgeForm(visit, form: WebForm(encoded: ""), problem: nil)
    }

    /// The lodging form, with what was typed and the problem next to its field.
    func lodgeForm(_ visit: Visit, form: WebForm, problem: Problem?) -> Response {
        let catalog = self.reference.data.catalog
        let locale = visit.locale
        func options(_ values: [(String, String)], selected: String?) -> [[String: Any]] {
            values.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == selected] }
        }
        let programmes = catalog.programmes.values.sorted { $0.code < $1.code }.map { ($0.code, $0.name) }
        let areas = self.areas()
        let errors = Self.fieldErrors(
            problem,
            form: [
                "channel", "category", "programme", "area", "description",
                "name", "phone", "national_id", "address", "contact_preference", "anonymous",
            ])
        var data: [String: Any] = [
            "form_id": form["form_id"] ?? UUID().uuidString.lowercased(),
            "channels": options(
                Complaint.Channel.allCases.map { ($0.rawValue, locale.text("channel.\($0.rawValue)")) },
                selected: form["channel"]),
            "categories": options(
                Complaint.Category.allCases.map { ($0.rawValue, locale.text("category.\($0.rawValue)")) },
                selected: form["category"]),
            "programmes": options(programmes, selected: form["programme"]),
            "areas": options(areas, selected: form["area"]),
            "contacts": options(
                ContactPreference.allCases.map { ($0.rawValue, locale.text("contact.\($0.rawValue)")) },
                selected: form["contact_preference"] ?? "none"),
            "anonymous": form["anonymous"] != nil, "sensitive": form["sensitive"] != nil,
            "values": form.values, "errors": errors.byField,
        ]
        if let general = errors.general { data["error"] = general }
        data["has_errors"] = problem != nil
        return self.render(
            "lodge", title: "lodge.title", visit, data, status: problem == nil ? .ok : .unprocessableContent)
    }

    func lodge(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let form = try await WebForm.read(request)
        try self.requireCSRF(form, visit)
        try await self.referenceReady()
        var body: [String: JSONValue] = [
            "office": .string(principal.scope ?? ""), "anonymous": .bool(form["anonymous"] != nil),
            "sensitive": .bool(form["sensitive"] != nil),
        ]
        for name in ["channel", "category", "programme", "area", "description", "contact_preference"] {
            if let value = form[name] { body[name] = .string(value) }
        }
        if form["anonymous"] == nil {
            var person: [String: JSONValue] = [:]
            for name in ["name", "phone", "national_id", "address"] {
                if let value = form[name] { person[name] = .string(value) }
            }
            body["complainant"] = .object(person)
        }
        do {
            let json = JSONValue.object(body)
            let command = try CaseController<Complaint>.decode(.lodge, body: json, at: self.clock.now())
            // The form's own id is the idempotency key: a double click or a resent form lodges once.
            let key = form["form_id"].map { "web-\($0)" }
            let pipeline = CaseCommands<Complaint>.Request(
                sender: .principal(principal), metadata: principal.eventMetadata(idempotencyKey: key),
                idempotencyKey: key,
                requestDigest: RequestBody.digest(request, principal: principal, body: CanonicalJSON.encode(json)))
            let commands = self.complaints
            let answer = try await Problem.mapping { try await commands.create(command, pipeline) }
            return WebResponse.seeOther("/complaints/\(answer.id)/slip")
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 401 {
            return self.lodgeForm(visit, form: form, problem: problem)
        }
    }

    /// A problem's fields mapped onto the form's: `complainant.phone` is the `phone` field; what names no field of
    /// the form is said at the top.
    static func fieldErrors(_ problem: Problem?, form fields: [String]) -> (byField: [String: String], general: String?)
    {
        guard let problem else { return ([:], nil) }
        var all = (problem.errors ?? []).map { ($0.field, $0.reason) }
        if all.isEmpty { all = [(problem.field ?? "", problem.detail)] }
        var byField: [String: String] = [:]
        var general: [String] = []
        for (field, reason) in all {
            let parts = field.split(separator: ".").map(String.init)
            let name = parts.last.map { fields.contains($0) ? $0 : (fields.contains(parts[0]) ? parts[0] : "") } ?? ""
            if name.isEmpty { general.append(reason) } else { byField[name] = reason }
            if parts.first == "complainant", parts.count == 1 { byField["name"] = reason }
        }
        return (byField, general.isEmpty ? nil : general.joined(separator: "; "))
    }

    func referenceReady() async throws {
        let reference = self.reference
        try await withDatabaseDeadline { await reference.ready() }
    }
}
