import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// The page of a complaint, appeal or referral and its commands: what the user may read (in full, or redacted for
/// the lodging office of a sensitive case, as the API's `AccessPolicy.reading`), and a form for each command the
/// state allows now and the access policy lets this user send.
extension WebController {
    /// A case as loaded, with its state and how much of it the user reads.
    struct ReadCase<Kind: WebCaseKind> {
        var id: String
        var loaded: CaseRepository<Kind>.Loaded
        var state: Kind.State
        var reading: AccessPolicy.Reading
    }

    /// The command pipeline of `Kind`, sharing the store, vault, reference data and users of the complaints'.
    func commands<Kind: WebCaseKind>(_ kind: Kind.Type) -> CaseCommands<Kind> {
        let complaints = self.complaints
        return CaseCommands<Kind>(
            store: complaints.repository.store, vault: complaints.repository.vault, reference: complaints.reference,
            users: complaints.users)
    }

    func addCaseRoutes<Kind: WebCaseKind>(_ kind: Kind.Type, to router: Router<ConcordRequestContext>) {
        router.get("\(Kind.collection)/:id") { request, context in try await self.showCase(Kind.self, request, context)
        }
        router.post("\(Kind.collection)/:id/:command") { request, context in
            try await self.command(Kind.self, request, context)
        }
    }

    /// The case, or nil when it does not exist or this user may not read it (one answer: 404).
    func readable<Kind: WebCaseKind>(
        _ kind: Kind.Type, _ id: String, _ principal: Principal
    ) async throws -> ReadCase<
        Kind
    >? {
        try await self.referenceReady()
        let repository = self.commands(Kind.self).repository
        let loaded = try await Problem.mapping { try await withDatabaseDeadline { try await repository.load(id) } }
        guard let state = loaded.state else { return nil }
        let reading = AccessPolicy.reading(principal, Kind.parties(state), catalog: self.reference.data.catalog)
        guard reading != .none else { return nil }
        return ReadCase(id: id, loaded: loaded, state: state, reading: reading)
    }

    func showCase<Kind: WebCaseKind>(
        _ kind: Kind.Type, _ request: Request, _ context: ConcordRequestContext
    ) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let id = try context.parameters.require("id")
        guard let found = try await self.readable(Kind.self, id, principal) else { return self.notFound(visit) }
        return self.casePage(visit, principal, found, failed: nil)
    }

    /// A command's form that failed: which command, what was typed, and the problem.
    struct FailedCommand {
        var command: String
        var form: WebForm
        var problem: Problem
    }

    func casePage<Kind: WebCaseKind>(
        _ visit: Visit, _ principal: Principal, _ found: ReadCase<Kind>, failed: FailedCommand?
    ) -> Response {
        let (locale, catalog, state) = (visit.locale, self.reference.data.catalog, found.state)
        let summary = Kind.summary(state, id: found.id, catalog: catalog)
        let redacted = found.reading == .redacted
        let forms = self.yourCommands(Kind.self, state, principal).map { name in
            self.commandForm(
                Kind.self, name, id: found.id, version: found.loaded.version, locale: locale,
                failed: failed?.command == name ? failed : nil)
        }
        var data: [String: Any] = [
            "code": found.id, "kind_title": locale.text("kind.\(Kind.streamType)"),
            "status": locale.text("status.\(Kind.streamType).\(Kind.stateName(state))"),
            "loop_status": locale.text("loop.status.\(summary.loopStatus(at: self.clock.now()).rawValue)"),
            "loop": self.loopSentence(summary, locale: locale), "forms": forms, "has_forms": !forms.isEmpty,
            "redacted": redacted,
        ]
        if redacted {
            // The redacted view: status, loop and the outcome to tell the person; no texts, no person, no history.
            if let outcome = summary.outcome {
                data["facts"] = [["label": locale.text("field.outcome"), "value": locale.choice("outcome", outcome)]]
            }
        } else {
            data["facts"] = Kind.facts(state, catalog: catalog, locale: locale).map {
                ["label": locale.text($0.0), "value": $0.1]
            }
            data["history"] = found.loaded.events.map { event in
                [
                    "what": locale.text("event.\(event.type)"), "when": locale.format(event.recordedAt),
                    "who": event.metadata.actor ?? "",
                ]
            }
            data["has_history"] = !found.loaded.events.isEmpty
            if AccessPolicy.readsTexts(principal) {
                let texts = Self.texts(found.loaded.events, locale: locale)
                (data["texts"], data["has_texts"]) = (texts, !texts.isEmpty)
            }
        }
        // Once a complaint has its outcome, its office may lodge an appeal against it from here.
        if Kind.streamType == Complaint.streamType, principal.role == .office, !redacted, summary.outcome != nil {
            data["appeal_link"] = "/appeals/new?complaint_id=\(found.id)"
        }
        if let failed, !forms.contains(where: { ($0["command"] as? String) == failed.command }) {
            data["error"] = failed.problem.detail
        }
        return self.render(
            "case", title: "kind.\(Kind.streamType)", visit, data,
            status: failed == nil ? .ok : .unprocessableContent)
    }

    /// The API's `your_commands` that have a form here.
    func yourCommands<Kind: WebCaseKind>(_ kind: Kind.Type, _ state: Kind.State, _ principal: Principal) -> [String] {
        CaseController<Kind>.yourCommands(state, for: principal, catalog: self.reference.data.catalog).map(\.rawValue)
            .filter { Kind.commandFields[$0] != nil }
    }

    /// The case's texts (description, notes, reasons, the counter-referral, ...), as the API's view has them.
    static func texts(_ events: [RecordedEvent], locale: WebLocale) -> [[String: Any]] {
        CaseTexts.view(events).sorted { $0.key < $1.key }.compactMap { key, value in
            let items: [JSONValue] = if case .array(let list) = value { list } else { [value] }
            let lines = items.compactMap(Self.textLine)
            return lines.isEmpty ? nil : ["label": locale.text("text.\(key)"), "lines": lines]
        }
    }

    /// One text as a line: a plain string, or an item's texts with its author.
    static func textLine(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): return text
        case .object(let members):
            let parts = ["text", "outcome", "services_given", "notes", "reason", "explanation"].compactMap {
                name -> String? in
                switch members[name] {
                case .string(let text)?: text
                case .array(let list)?: list.compactMap(\.stringValue).joined(separator: ", ")
                default: nil
                }
            }
            guard !parts.isEmpty else { return nil }
            let author = members["author"]?.stringValue.map { " (\($0))" } ?? ""
            return parts.joined(separator: " · ") + author
        default: return nil
        }
    }

    func commandForm<Kind: WebCaseKind>(
        _ kind: Kind.Type, _ name: String, id: String, version: Int64, locale: WebLocale, failed: FailedCommand?
    ) -> [String: Any] {
        let fields = Kind.commandFields[name] ?? []
        let errors = Self.fieldErrors(failed?.problem, form: fields.map(\.name))
        let rendered = fields.map { field in
            var data = self.fieldData(
                field, id: "\(name)-\(field.name)", value: failed?.form.values[field.name],
                error: errors.byField[field.name], locale: locale)
            // A field whose meaning depends on the command (`method`: who was told) has its own label.
            let specific = "field.\(name).\(field.name)"
            if locale.text(specific) != specific { data["label"] = locale.text(specific) }
            return data
        }
        var form: [String: Any] = [
            "command": name, "action": "/\(Kind.collection)/\(id)/\(name)", "label": locale.text("command.\(name)"),
            "fields": rendered, "version": version,
        ]
        if let general = errors.general { form["form_error"] = general }
        return form
    }

    /// One field as the templates show it: its label, what was typed, its choices and its error.
    func fieldData(
        _ field: WebField, id: String, value: String?, error: String?, locale: WebLocale
    ) -> [String: Any] {
        var out: [String: Any] = [
            "name": field.name, "id": id, "label": locale.text("field.\(field.name)"), "required": field.required,
            "value": value ?? "", "text": false, "textarea": false, "select": false,
        ]
        if let error { out["field_error"] = error }
        let chosen = value.flatMap { $0.isEmpty ? nil : $0 }
        let blank: [[String: Any]] = field.required ? [] : [["value": "", "label": "—", "selected": chosen == nil]]
        switch field.input {
        case .text: out["text"] = true
        case .textarea, .lines: out["textarea"] = true
        case .select(let choices):
            out["select"] = true
            out["options"] =
                blank + choices.map { ["value": $0, "label": locale.choice(field.name, $0), "selected": $0 == chosen] }
        case .receiver, .area:
            out["select"] = true
            let choices = if case .area = field.input { self.areas() } else { self.receivers() }
            out["options"] = blank + choices.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == chosen] }
        }
        return out
    }

    /// The areas, by code.
    func areas() -> [(String, String)] {
        self.reference.data.catalog.areas.values.sorted { $0.code < $1.code }.map {
            ($0.code, "\($0.code) · \($0.name)")
        }
    }

    /// The programmes and service types a case may be addressed to, by code.
    func receivers() -> [(String, String)] {
        let catalog = self.reference.data.catalog
        let programmes = catalog.programmes.values.map { ($0.code, $0.name) }
        let services = catalog.serviceTypes.values.map { ($0.code, $0.name) }
        return (programmes + services).sorted { $0.0 < $1.0 }.map { ($0.0, "\($0.0) · \($0.1)") }
    }

    func command<Kind: WebCaseKind>(
        _ kind: Kind.Type, _ request: Request, _ context: ConcordRequestContext
    ) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let form = try await WebForm.read(request)
        try self.requireCSRF(form, visit)
        let id = try context.parameters.require("id")
        let name = try context.parameters.require("command")
        guard let fields = Kind.commandFields[name], let commandName = Kind.commandName(name),
            let found = try await self.readable(Kind.self, id, principal)
        else { return self.notFound(visit) }
        var body = Self.body(fields, form)
        Kind.complete(name, &body, state: found.state, principal: principal)
        do {
            let command = try CaseController<Kind>.decode(commandName, body: .object(body), at: self.clock.now())
            // The version the form was shown at: a form over a case that changed since is refused, not applied.
            let version = form["version"].flatMap { Int64($0) }
            let pipeline = CaseCommands<Kind>.Request(
                sender: .principal(principal), metadata: principal.eventMetadata(),
                ifMatch: version.map { .version($0) })
            let commands = self.commands(Kind.self)
            _ = try await Problem.mapping { try await commands.send(command, to: id, pipeline) }
            return WebResponse.seeOther("/\(Kind.collection)/\(id)")
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 401 {
            return self.casePage(
                visit, principal, found, failed: FailedCommand(command: name, form: form, problem: problem))
        }
    }

    /// A command's body from its form: blank fields left out, a `lines` field as its non-blank lines.
    static func body(_ fields: [WebField], _ form: WebForm) -> [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        for field in fields {
            guard let value = form[field.name] else { continue }
            if case .lines = field.input {
                let lines = value.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                body[field.name] = .array(lines.filter { !$0.isEmpty }.map(JSONValue.string))
            } else {
                body[field.name] = .string(value)
            }
        }
        return body
    }

    /// Opens a case by its tracking code (not personal data), whatever its kind; the case page says 404 when it is
    /// not readable.
    static func find(_ request: Request) -> Response {
        let code = request.uri.queryParameters["code"].map(String.init) ?? ""
        let clean = code.trimmingCharacters(in: .whitespaces).uppercased()
        guard case .success(let parsed) = TrackingCode.parse(clean) else { return WebResponse.seeOther("/find") }
        let collection =
            switch parsed.kind {
            case .complaint: Complaint.collection
            case .appeal: Appeal.collection
            case .referral: Referral.collection
            }
        return WebResponse.seeOther("/\(collection)/\(parsed.text)")
    }
}
