import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// A complaint's page and its commands: what the user may read, and a form for each command the state allows now
/// and the access policy lets this user send.
extension WebController {
    /// The complaint and its state, or nil when it does not exist or this user may not read it (one answer: 404).
    func readable(
        _ id: String, _ principal: Principal
    ) async throws -> (
        loaded: CaseRepository<Complaint>.Loaded, state: Complaint.State
    )? {
        try await self.referenceReady()
        let repository = self.complaints.repository
        let loaded = try await Problem.mapping { try await withDatabaseDeadline { try await repository.load(id) } }
        guard let state = loaded.state,
            AccessPolicy.canRead(principal, Complaint.parties(state), catalog: self.reference.data.catalog)
        else { return nil }
        return (loaded, state)
    }

    func showComplaint(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let id = try context.parameters.require("id")
        guard let found = try await self.readable(id, principal) else { return self.notFound(visit) }
        return self.casePage(visit, principal, id: id, loaded: found.loaded, state: found.state, failed: nil)
    }

    func slip(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let id = try context.parameters.require("id")
        guard let state = try await self.readable(id, principal)?.state else { return self.notFound(visit) }
        let office = self.reference.data.catalog.office(state.office)?.name ?? state.office
        return self.render(
            "slip", title: "slip.title", visit,
            ["code": id, "lodged_at": visit.locale.format(state.lodgedAt), "office": office])
    }

    /// A command's form that failed: which command, what was typed, and the problem.
    struct FailedCommand {
        var command: String
        var form: WebForm
        var problem: Problem
    }

    func casePage(
        _ visit: Visit, _ principal: Principal, id: String, loaded: CaseRepository<Complaint>.Loaded,
        state: Complaint.State, failed: FailedCommand?
    ) -> Response {
        let locale = visit.locale
        let catalog = self.reference.data.catalog
        let summary = Complaint.summary(state, id: id, catalog: catalog)
        let loop = summary.loopView(at: self.clock.now()) { catalog.name(of: $0) }
        var loopText = locale.text("loop.closed")
        if case .object(let members) = loop, case .string(let missing)? = members["missing_step"] {
            loopText = missing
        }
        let history: [[String: Any]] = loaded.events.map { event in
            [
                "what": locale.text("event.\(event.type)"), "when": locale.format(event.recordedAt),
                "who": event.metadata.actor ?? "",
            ]
        }
        let status = Complaint.stateName(state)
        let parties = Complaint.parties(state)
        let forms: [[String: Any]] = Complaint.allowedCommands(in: state).map(\.rawValue).filter { name in
            Self.commandFields[name] != nil
                && AccessPolicy.canAct(
                    principal, command: name,
                    side: Complaint.side(of: Complaint.CommandName(rawValue: name) ?? .addNote),
                    parties, catalog: catalog)
        }.map { name in
            self.commandForm(
                name, id: id, version: loaded.version, locale: locale,
                failed: failed?.command == name ? failed : nil)
        }
        var data: [String: Any] = [
            "code": id, "status": locale.text("status.complaint.\(status)"), "loop": loopText,
            "category": locale.text("category.\(state.category.rawValue)"),
            "programme": state.programme.map { catalog.programme($0)?.name ?? $0 } ?? locale.text("lodge.not_known"),
            "area": state.area, "history": history, "forms": forms, "has_forms": !forms.isEmpty,
            "lodged_at": locale.format(state.lodgedAt),
        ]
        if let failed, forms.isEmpty || !forms.contains(where: { ($0["command"] as? String) == failed.command }) {
            data["error"] = failed.problem.detail
        }
        return self.render(
            "case", title: "case.title", visit, data, status: failed == nil ? .ok : .unprocessableContent)
    }

    func commandForm(
        _ name: String, id: String, version: Int64, locale: WebLocale, failed: FailedCommand?
    ) -> [String: Any] {
        let errors = Self.fieldErrors(failed?.problem, form: (Self.commandFields[name] ?? []).map(\.name))
        let fields: [[String: Any]] = (Self.commandFields[name] ?? []).map { field in
            var out: [String: Any] = [
                "name": field.name, "id": "\(name)-\(field.name)", "label": locale.text("field.\(field.name)"),
                "required": field.required, "value": failed?.form.values[field.name] ?? "",
                "text": false, "textarea": false, "select": false,
            ]
            if let error = errors.byField[field.name] { out["field_error"] = error }
            switch field.input {
            case .text: out["text"] = true
            case .textarea: out["textarea"] = true
            case .select(let choices):
                out["select"] = true
                let chosen = failed?.form[field.name]
                out["options"] =
                    (field.required ? [] : [["value": "", "label": "—", "selected": chosen == nil]])
                    + choices.map { ["value": $0, "label": locale.text("choice.\($0)"), "selected": $0 == chosen] }
            }
            return out
        }
        var form: [String: Any] = [
            "command": name, "action": "/complaints/\(id)/\(name)", "label": locale.text("command.\(name)"),
            "fields": fields, "version": version,
        ]
        if let general = errors.general { form["form_error"] = general }
        return form
    }

    func command(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let form = try await WebForm.read(request)
        try self.requireCSRF(form, visit)
        let id = try context.parameters.require("id")
        let name = try context.parameters.require("command")
        guard let fields = Self.commandFields[name], let commandName = Complaint.CommandName(rawValue: name),
            let found = try await self.readable(id, principal)
        else { return self.notFound(visit) }
        let (loaded, state) = (found.loaded, found.state)
        var body: [String: JSONValue] = [:]
        for field in fields { if let value = form[field.name] { body[field.name] = .string(value) } }
        // An assignment from the page is to the user's own programme (a transfer moves it elsewhere).
        if name == "assign" { body["programme"] = .string(state.programme ?? principal.scope ?? "") }
        do {
            let json = JSONValue.object(body)
            let command = try CaseController<Complaint>.decode(commandName, body: json, at: self.clock.now())
            // The version the form was shown at: a form over a case that changed since is refused, not applied.
            let version = form["version"].flatMap { Int64($0) }
            let pipeline = CaseCommands<Complaint>.Request(
                sender: .principal(principal), metadata: principal.eventMetadata(),
                ifMatch: version.map { .version($0) })
            let commands = self.complaints
            _ = try await Problem.mapping { try await commands.send(command, to: id, pipeline) }
            return WebResponse.seeOther("/complaints/\(id)")
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 401 {
            let failed = FailedCommand(command: name, form: form, problem: problem)
            return self.casePage(visit, principal, id: id, loaded: loaded, state: state, failed: failed)
        }
    }
}
