import ConcordCore
import ConcordStore
import ConcordWeb
import Foundation
import Hummingbird

/// The front office's other creations: lodge an appeal (against a programme decision or a complaint's outcome) and
/// create a referral with the standard referral form. Each form's body is the API's (`POST /v1/appeals`,
/// `POST /v1/referrals`) and goes through the same command pipeline.
extension WebController {
    /// The standard referral form: what a receiving service needs to find and serve the person, kept in the
    /// referral's `person.form_fields` (sealed with the person). `name` and `consent` are required: a referral
    /// names whom it is for, and shares their details only with their consent.
    static let referralFormFields = [
        "name", "date_of_birth", "phone", "address", "household_size", "beneficiary_number", "needs",
        "referring_officer", "consent",
    ]
    static let referralFormRequired: Set<String> = ["name", "consent"]

    /// The optional person attributes every creation takes (the indicators' breakdowns).
    static let attributeChoices: [(String, [String])] = [
        ("sex", PersonAttributes.Sex.allCases.map(\.rawValue)),
        ("age_group", PersonAttributes.AgeGroup.allCases.map(\.rawValue)),
        ("disability", PersonAttributes.Disability.allCases.map(\.rawValue)),
    ]

    func addAppealRoutes(to router: Router<ConcordRequestContext>) {
        router.get("appeals/new") { request, context in try await self.newAppeal(request, context) }
        router.post("appeals") { request, context in try await self.lodgeAppeal(request, context) }
    }

    func addReferralRoutes(to router: Router<ConcordRequestContext>) {
        router.get("referrals/new") { request, context in try await self.newReferral(request, context) }
        router.post("referrals") { request, context in try await self.createReferral(request, context) }
    }

    /// Creates a case from a form: the form's own id is the idempotency key, so a double click or a resent form
    /// creates one case. Returns the new case's tracking code; a refusal is thrown as a `Problem`.
    func create<Kind: WebCaseKind>(
        _ kind: Kind.Type, _ body: [String: JSONValue], form: WebForm, request: Request, principal: Principal
    ) async throws -> String {
        let json = JSONValue.object(body)
        let command = try CaseController<Kind>.decode(Kind.creation, body: json, at: self.clock.now())
        let key = form["form_id"].map { "web-\($0)" }
        let pipeline = CaseCommands<Kind>.Request(
            sender: .principal(principal), metadata: principal.eventMetadata(idempotencyKey: key),
            idempotencyKey: key,
            requestDigest: RequestBody.digest(request, principal: principal, body: CanonicalJSON.encode(json)))
        let commands = self.commands(Kind.self)
        return try await Problem.mapping { try await commands.create(command, pipeline) }.id
    }

    /// The form's person attributes (`sex`, `age_group`, `disability`) that were chosen.
    static func attributes(_ form: WebForm, into body: inout [String: JSONValue]) {
        for (name, _) in Self.attributeChoices { if let value = form[name] { body[name] = .string(value) } }
    }

    /// The person attributes' choices, with what was chosen ("not stated" when nothing was).
    func attributeOptions(_ form: WebForm, locale: WebLocale) -> [String: Any] {
        var out: [String: Any] = [:]
        for (name, values) in Self.attributeChoices {
            out[name] = self.options(
                values.map { ($0, locale.choice(name, $0)) }, selected: form[name],
                blank: locale.text("filter.not_stated"))
        }
        return out
    }

    func creationPage(
        _ template: String, title: String, _ visit: Visit, form: WebForm, problem: Problem?, fields: [String],
        data extra: [String: Any]
    ) -> Response {
        let errors = Self.fieldErrors(problem, form: fields)
        var data = extra
        data["form_id"] = form["form_id"] ?? UUID().uuidString.lowercased()
        data["values"] = form.values
        data["errors"] = errors.byField
        data["has_errors"] = problem != nil
        if let general = errors.general { data["error"] = general }
        return self.render(template, title: title, visit, data, status: problem == nil ? .ok : .unprocessableContent)
    }

    // MARK: Appeals

    func newAppeal(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        guard WebPage.appeal.opens(principal) else { return self.forbidden(visit) }
        try await self.referenceReady()
        // Opened from a complaint's page: against that complaint's outcome.
        var prefill = WebForm(encoded: "")
        if let complaint = request.uri.queryParameters["complaint_id"].map(String.init) {
            prefill.values = ["against": "complaint_outcome", "complaint_id": complaint]
        }
        return self.appealForm(visit, form: prefill, problem: nil)
    }

    static let appealFields = [
        "against", "complaint_id", "programme", "area", "grounds", "name", "phone", "national_id", "address",
        "contact_preference", "anonymous", "sex", "age_group", "disability",
    ]

    func appealForm(_ visit: Visit, form: WebForm, problem: Problem?) -> Response {
        let (catalog, locale) = (self.reference.data.catalog, visit.locale)
        let against = ["eligibility", "amount", "suspension", "complaint_outcome"]
        var data = self.attributeOptions(form, locale: locale)
        data["against_choices"] = self.options(
            against.map { ($0, locale.text("against.\($0)")) }, selected: form["against"], blank: nil)
        data["programmes"] = self.options(
            catalog.programmes.values.sorted { $0.code < $1.code }.map { ($0.code, $0.name) },
            selected: form["programme"], blank: nil)
        data["areas"] = self.options(
            self.areas(),
            selected: form["area"], blank: nil)
        data["contacts"] = self.options(
            ContactPreference.allCases.map { ($0.rawValue, locale.text("contact.\($0.rawValue)")) },
            selected: form["contact_preference"] ?? "none", blank: nil)
        data["anonymous"] = form["anonymous"] != nil
        return self.creationPage(
            "appeal_new", title: "appeal_new.title", visit, form: form, problem: problem, fields: Self.appealFields,
            data: data)
    }

    func lodgeAppeal(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let form = try await WebForm.read(request)
        try self.requireCSRF(form, visit)
        try await self.referenceReady()
        var body: [String: JSONValue] = [
            "office": .string(principal.scope ?? ""), "anonymous": .bool(form["anonymous"] != nil),
        ]
        for name in ["against", "complaint_id", "programme", "area", "grounds", "contact_preference"] {
            if let value = form[name] { body[name] = .string(value) }
        }
        // The complaint's code is only for an appeal against its outcome (the API refuses it otherwise).
        if form["against"] != "complaint_outcome" { body["complaint_id"] = nil }
        if form["anonymous"] == nil { body["appellant"] = Self.identity(form) }
        Self.attributes(form, into: &body)
        do {
            let id = try await self.create(Appeal.self, body, form: form, request: request, principal: principal)
            return WebResponse.seeOther("/appeals/\(id)")
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 401 {
            return self.appealForm(visit, form: form, problem: problem)
        }
    }

    /// The person's name, phone, national ID and address from a form, as `complainant` and `appellant` take them.
    static func identity(_ form: WebForm) -> JSONValue {
        var person: [String: JSONValue] = [:]
        for name in ["name", "phone", "national_id", "address"] {
            if let value = form[name] { person[name] = .string(value) }
        }
        return .object(person)
    }

    // MARK: Referrals

    func newReferral(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        guard WebPage.referral.opens(principal) else { return self.forbidden(visit) }
        try await self.referenceReady()
        return self.referralForm(visit, form: WebForm(encoded: ""), problem: nil)
    }

    static var referralFields: [String] {
        [
            "receiver", "urgency", "referral_type", "reason", "kind", "reference", "complaint_id", "sex", "age_group",
            "disability",
        ] + Self.referralFormFields.map { "form_\($0)" }
    }

    func referralForm(_ visit: Visit, form: WebForm, problem: Problem?) -> Response {
        let locale = visit.locale
        var data = self.attributeOptions(form, locale: locale)
        // No receiver is chosen for the clerk: a referral sent to the first of the list by mistake is worse
        // than a form that asks again.
        data["receivers"] = self.options(self.receivers(), selected: form["receiver"], blank: "—")
        data["urgencies"] = self.options(
            Referral.Urgency.allCases.map { ($0.rawValue, locale.choice("urgency", $0.rawValue)) },
            selected: form["urgency"] ?? "routine", blank: nil)
        data["kinds"] = self.options(
            Referral.ReferredPerson.Kind.allCases.map { ($0.rawValue, locale.choice("kind", $0.rawValue)) },
            selected: form["kind"], blank: nil)
        let errors = Self.fieldErrors(problem, form: Self.referralFields)
        data["form_fields"] = Self.referralFormFields.map { name -> [String: Any] in
            var field: [String: Any] = [
                "id": "form_\(name)", "label": locale.text("referral_form.\(name)"),
                "value": form.values["form_\(name)"] ?? "", "required": Self.referralFormRequired.contains(name),
                "checkbox": name == "consent", "checked": form["form_\(name)"] != nil,
            ]
            if let error = errors.byField["form_\(name)"] { field["field_error"] = error }
            return field
        }
        return self.creationPage(
            "referral_new", title: "referral_new.title", visit, form: form, problem: problem,
            fields: Self.referralFields, data: data)
    }

    func createReferral(_ request: Request, _ context: ConcordRequestContext) async throws -> Response {
        let visit = self.visit(request, context)
        guard let principal = visit.principal else { return try await self.home(request, context) }
        let form = try await WebForm.read(request)
        try self.requireCSRF(form, visit)
        try await self.referenceReady()
        var body: [String: JSONValue] = ["source": .string(principal.scope ?? "")]
        for name in ["receiver", "urgency", "referral_type", "reason", "complaint_id"] {
            if let value = form[name] { body[name] = .string(value) }
        }
        var formFields: [String: JSONValue] = [:]
        for name in Self.referralFormFields {
            if let value = form["form_\(name)"] { formFields[name] = .string(name == "consent" ? "yes" : value) }
        }
        var person: [String: JSONValue] = ["form_fields": .object(formFields)]
        if let kind = form["kind"] { person["kind"] = .string(kind) }
        if let reference = form["reference"] { person["reference"] = .string(reference) }
        body["person"] = .object(person)
        Self.attributes(form, into: &body)
        do {
            // The standard form's own rule, said beside its fields like the API's.
            let missing = Self.referralFormRequired.sorted().filter { formFields[$0] == nil }
            if !missing.isEmpty {
                var problem = Problem(
                    status: .unprocessableContent, title: "Incomplete referral form",
                    detail: "the referral form is missing \(missing.joined(separator: ", "))")
                problem.errors = missing.map {
                    .init(field: "form_\($0)", reason: visit.locale.text("referral_form.required"))
                }
                throw problem
            }
            let id = try await self.create(Referral.self, body, form: form, request: request, principal: principal)
            return WebResponse.seeOther("/referrals/\(id)")
        } catch let problem as Problem where problem.statusCode < 500 && problem.statusCode != 401 {
            return self.referralForm(visit, form: form, problem: problem)
        }
    }
}
