import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The pages of appeals and referrals, the front office's lists and search, and the programme's queue and
/// feedback: through the forms a browser sends, against a real database and the real command pipeline.
@Suite(.timeLimit(.minutes(3))) struct WebCaseKindsTests {
    static func users(_ settings: DatabaseSettings) async throws {
        try await Users.create(settings, login: "clerk", role: .office, scope: "OFF-001")
        try await Users.create(settings, login: "clerk2", role: .office, scope: "OFF-002")
        try await Users.create(settings, login: "cct", role: .programme, scope: "CCT")
        try await Users.create(settings, login: "cct.focal", role: .programme, scope: "CCT", focalPoint: true)
        try await Users.create(settings, login: "health", role: .programme, scope: "HEALTH")
        try await Users.create(settings, login: "pension", role: .programme, scope: "PENSION")
    }

    /// The standard referral form as a clerk fills it.
    static let referral: [String: String] = [
        "receiver": "HEALTH", "urgency": "priority", "referral_type": "nutrition",
        "reason": "Child needs a nutrition assessment.", "kind": "household", "reference": "HH-42",
        "form_name": "Awa Sow", "form_household_size": "5", "form_consent": "yes", "form_id": "referral-form-1",
    ]

    /// Creates a referral through the form; its tracking code.
    static func refer(
        _ visitor: inout WebVisitor, _ fields: [String: String] = Self.referral
    ) async throws -> String {
        let form = try await visitor.get("/referrals/new")
        #expect(form.status == .ok, "\(form.html)")
        WebVisitor.checkForms(form, "referral form")
        let answer = try await visitor.post("/referrals", fields, csrfFrom: form)
        #expect(answer.status == .seeOther, "\(answer.html)")
        let location = try #require(answer.headers[.location])
        return String(try #require(location.split(separator: "/").last))
    }

    /// Sends a command from the case page's form, as the browser does; expects the redirect back to the case.
    static func send(
        _ visitor: inout WebVisitor, _ path: String, _ command: String, _ fields: [String: String] = [:]
    ) async throws {
        let page = try await visitor.get(path)
        #expect(page.html.contains(#"id="form-\#(command)""#), "\(command) is not offered on \(path)")
        WebVisitor.checkForms(page, "\(path) before \(command)")
        var form = fields
        form["version"] = page.html.firstMatch(of: #/name="version" value="(\d+)"/#).map { String($0.1) }
        let answer = try await visitor.post("\(path)/\(command)", form, csrfFrom: page)
        #expect(answer.status == .seeOther, "\(command): \(answer.html)")
    }

    /// The issue's second journey without a browser: the clerk refers a household to HEALTH, HEALTH works it and
    /// posts its counter-referral feedback, the clerk finds it waiting and acknowledges it, which closes the loop.
    /// The loop is said in plain words, in English and in French.
    @Test func aReferralThroughToItsAcknowledgedFeedback() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            let code = try await Self.refer(&clerk)
            #expect(code.hasPrefix("R-"))
            let path = "/referrals/\(code)"
            // The home page's "open a case by its code" opens any kind.
            #expect(try await clerk.get("/complaints/find?code=\(code.lowercased())").headers[.location] == path)
            let created = try await clerk.get(path)
            #expect(
                created.html.contains("Acknowledgement from National Health Insurance Scheme, due "), "\(created.html)")
            #expect(created.html.contains(#"id="form-cancel""#) && !created.html.contains(#"id="form-accept""#))
            var health = WebVisitor(client)
            try await health.signIn("health")
            for command in ["acknowledge", "accept", "start_service"] { try await Self.send(&health, path, command) }
            try await Self.send(&health, path, "complete", ["outcome": "delivered"])
            let completed = try await health.get(path)
            #expect(completed.html.contains("Counter-referral feedback from National Health Insurance Scheme, due "))
            var french = WebVisitor(client, language: "fr")
            try await french.signIn("clerk")
            #expect(
                try await french.get(path).html.contains(
                    "Retour d&#39;information de National Health Insurance Scheme, "))
            // HEALTH owes feedback: its feedback page says so once the projection has it.
            try await poll(within: .seconds(20), "\(code) owes feedback") {
                try await health.get("/feedback").html.contains(code)
            }
            try await Self.send(
                &health, path, "post_feedback",
                ["outcome": "Enrolled in the nutrition programme", "services_given": "Assessment\nFood supplement"])
            // The clerk finds the feedback waiting, reads it and acknowledges it.
            try await poll(within: .seconds(20), "the feedback on \(code) waits for the clerk") {
                let page = try await clerk.get("/feedback")
                return page.html.contains(code) && page.html.contains(#"id="feedback-arrived""#)
            }
            let waiting = try await clerk.get(path)
            #expect(waiting.html.contains("Assessment, Food supplement"), "\(waiting.html)")
            try await Self.send(&clerk, path, "acknowledge_feedback")
            let closed = try await clerk.get(path)
            #expect(closed.html.contains(#"<dd id="case-status">Closed: the feedback was acknowledged</dd>"#))
            #expect(!closed.html.contains("<form method=\"post\" action=\"\(path)/"), "nothing left to do")
            #expect(try await french.get(path).html.contains("Close : le retour a été confirmé"))
        }
    }

    /// A form that fails keeps what was typed and says beside the field what to fix: the referral form without
    /// consent, an appeal against a complaint's outcome without the complaint, feedback without its services.
    /// Nothing is stored by them.
    @Test func failedFormsKeepWhatWasTyped() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            var fields = Self.referral
            fields["form_consent"] = nil
            fields["reason"] = "Enfant <b>malnutri</b>"
            let form = try await clerk.get("/referrals/new")
            let refused = try await clerk.post("/referrals", fields, csrfFrom: form)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.html.contains(#"id="form_consent-error""#), "\(refused.html)")
            #expect(refused.html.contains("Enfant &lt;b&gt;malnutri&lt;/b&gt;"))
            #expect(refused.html.contains(#"value="HH-42""#) && refused.html.contains(#"value="Awa Sow""#))
            #expect(refused.html.contains(#"<option value="HEALTH" selected>"#))
            let appealForm = try await clerk.get("/appeals/new")
            WebVisitor.checkForms(appealForm, "appeal form")
            let appeal = try await clerk.post(
                "/appeals",
                [
                    "against": "complaint_outcome", "programme": "CCT", "area": "D-01", "grounds": "Wrongly refused.",
                    "name": "Amina Diallo", "contact_preference": "none", "form_id": "appeal-1",
                ], csrfFrom: appealForm)
            #expect(appeal.status == .badRequest || appeal.status == .unprocessableContent)
            #expect(appeal.html.contains(#"id="complaint_id-error""#), "\(appeal.html)")
            #expect(appeal.html.contains("Wrongly refused.") && appeal.html.contains(#"value="Amina Diallo""#))
            let stored = try await withStore(settings: settings) { store in
                try await store.readAll(after: 0, streamType: "referral")
                    + store.readAll(after: 0, streamType: "appeal")
            }
            #expect(stored.isEmpty, "a refused form stored nothing")
            // A command's form: feedback without the services given keeps the typed outcome.
            let code = try await Self.refer(&clerk)
            var health = WebVisitor(client)
            try await health.signIn("health")
            let path = "/referrals/\(code)"
            for command in ["acknowledge", "accept", "start_service"] { try await Self.send(&health, path, command) }
            try await Self.send(&health, path, "complete", ["outcome": "delivered"])
            let page = try await health.get(path)
            let failed = try await health.post(
                "\(path)/post_feedback", ["outcome": "Enrolled", "notes": "Seen on 3 December"], csrfFrom: page)
            #expect(failed.status == .unprocessableContent)
            #expect(failed.html.contains(#"id="post_feedback-services_given-error""#), "\(failed.html)")
            #expect(failed.html.contains(#"value="Enrolled""#) && failed.html.contains("Seen on 3 December"))
            #expect(failed.html.contains(#"<dd id="case-status">Service complete"#), "the referral did not move")
        }
    }

    /// Who reads what: a sensitive complaint's office reads it redacted; a referral made from it by CCT's focal
    /// point is read in full by CCT's focal point, redacted by CCT's other officers (its source side), and not at
    /// all by another programme, HEALTH's officer who is no focal point, or the office.
    @Test func sensitiveCasesAreReadRedactedOrNotAtAll() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            var complaint = WebVisitor.complaint
            complaint["sensitive"] = "yes"
            complaint["form_id"] = "sensitive-1"
            let complaintCode = try await clerk.lodge(complaint)
            let redacted = try await clerk.get("/complaints/\(complaintCode)")
            #expect(redacted.status == .ok)
            #expect(redacted.html.contains(#"id="redacted-notice""#))
            #expect(!redacted.html.contains("March payment") && !redacted.html.contains("Amina"))
            #expect(!redacted.html.contains(#"class="history""#), "no history in the redacted view")
            WebVisitor.checkForms(redacted, "redacted complaint")
            var focal = WebVisitor(client)
            try await focal.signIn("cct.focal")
            #expect(try await focal.get("/complaints/\(complaintCode)").html.contains("March payment"))
            var fields = Self.referral
            fields["complaint_id"] = complaintCode
            fields["form_id"] = "sensitive-referral"
            let code = try await Self.refer(&focal, fields)
            let path = "/referrals/\(code)"
            let full = try await focal.get(path)
            #expect(full.html.contains("Child needs a nutrition assessment.") && !full.html.contains("redacted-notice"))
            var officer = WebVisitor(client)
            try await officer.signIn("cct")
            let sourceSide = try await officer.get(path)
            #expect(sourceSide.status == .ok)
            #expect(sourceSide.html.contains(#"id="redacted-notice""#))
            #expect(!sourceSide.html.contains("nutrition assessment") && !sourceSide.html.contains("Awa Sow"))
            #expect(!sourceSide.html.contains(#"id="form-cancel""#), "cancelling is not a redacted command")
            for login in ["pension", "health", "clerk2"] {
                var other = WebVisitor(client)
                try await other.signIn(login)
                let page = try await other.get(path)
                #expect(page.status == .notFound, "\(login) reads \(path)")
                #expect(!page.html.contains("nutrition assessment"))
                let refused = try await other.post("\(path)/cancel", ["reason": "no"], csrfFrom: page)
                #expect(refused.status == .notFound, "\(login) may not act on \(path)")
            }
            #expect(try await clerk.get(path).status == .notFound, "the office is on no side of this referral")
            // Once the focal point has resolved the complaint, the office tells the person through the redacted
            // view: the outcome is there, and the command, and still nothing of what the complaint says.
            let complaintPath = "/complaints/\(complaintCode)"
            try await Self.send(&focal, complaintPath, "acknowledge")
            try await Self.send(&focal, complaintPath, "assign")
            try await Self.send(
                &focal, complaintPath, "resolve", ["outcome": "upheld", "actions_taken": "Staff moved."])
            let toTell = try await clerk.get(complaintPath)
            #expect(toTell.html.contains("Upheld") && !toTell.html.contains("Staff moved."), "\(toTell.html)")
            try await Self.send(&clerk, complaintPath, "notify_complainant", ["method": "in_person"])
            #expect(try await clerk.get(complaintPath).html.contains("The complainant was told the outcome"))
        }
    }

    /// An appeal lodged at the front office, found in the programme's queue with its filters, reviewed and
    /// decided there, and told and closed by the office; a filter the API refuses is said beside its field.
    @Test func anAppealThroughTheQueueAndItsFilters() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            let form = try await clerk.get("/appeals/new")
            let lodged = try await clerk.post(
                "/appeals",
                [
                    "against": "eligibility", "programme": "CCT", "area": "D-01", "grounds": "Our income was misread.",
                    "name": "Amina Diallo", "phone": "+221770000000", "contact_preference": "sms", "sex": "female",
                    "form_id": "appeal-2",
                ], csrfFrom: form)
            #expect(lodged.status == .seeOther, "\(lodged.html)")
            let path = try #require(lodged.headers[.location])
            let code = String(try #require(path.split(separator: "/").last))
            var officer = WebVisitor(client)
            try await officer.signIn("cct")
            try await poll(within: .seconds(20), "\(code) in the queue") {
                try await officer.get("/queue?kind=appeal&area=D-01&status=lodged").html.contains(code)
            }
            let queue = try await officer.get("/queue?kind=appeal&service_type=&area=D-01")
            WebVisitor.checkForms(queue, "queue")
            #expect(queue.html.contains(#"<option value="appeal" selected>"#))
            #expect(!(try await officer.get("/queue?kind=referral").html.contains(code)))
            #expect(!(try await officer.get("/queue?area=D-03").html.contains(code)))
            let bad = try await officer.get("/queue?area=NOWHERE")
            #expect(bad.status == .badRequest)
            #expect(bad.html.contains(#"id="area-error""#), "\(bad.html)")
            #expect(try await officer.get("/queue?service_type=HEALTH").status == .badRequest)
            try await Self.send(&officer, path, "acknowledge")
            try await Self.send(&officer, path, "assign", ["review_level": "district"])
            try await Self.send(
                &officer, path, "decide", ["decision": "overturned", "reasoning": "Income re-checked."])
            try await Self.send(&clerk, path, "notify_appellant", ["method": "sms"])
            try await Self.send(&clerk, path, "close")
            let closed = try await clerk.get(path)
            #expect(closed.html.contains(#"<dd id="case-status">Closed</dd>"#))
            #expect(closed.html.contains("Overturned in the appellant"))
            // The public page in French: the status and each step's day, the French way.
            var visitor = WebVisitor(client, language: "fr")
            let tracked = try await visitor.get("/track?code=\(code)")
            #expect(tracked.html.contains("Votre recours est clos."))
            let months = [
                "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                "novembre", "décembre",
            ]
            let received = tracked.html.firstMatch(of: #/<dt>Reçue le</dt><dd>(\d{1,2}) (\p{L}+)/#)
            #expect(received.map { months.contains(String($0.2)) } == true, "\(tracked.html)")
        }
    }

    /// The front office finds a case by the person's phone (the API's search: only what it may read) and lists
    /// its cases with their loop; a search that cannot be made is said beside its field.
    @Test func findByPhoneAndTheOfficesCases() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            let code = try await clerk.lodge()
            let find = try await clerk.get("/find")
            WebVisitor.checkForms(find, "find")
            try await poll(within: .seconds(20), "\(code) found by phone") {
                let page = try await clerk.get("/find")
                return try await clerk.post("/find", ["phone": "+221 77 000 00 00"], csrfFrom: page).html.contains(code)
            }
            let found = try await clerk.post("/find", ["phone": "+221770000000"], csrfFrom: find)
            #expect(!found.headers[.location].map { $0.contains("221") }.isTrue, "no phone in a URL")
            let title = try #require(found.html.firstMatch(of: #/<title>(.*?)</title>/#).map { String($0.1) })
            #expect(!title.contains("221"))
            let bad = try await clerk.post("/find", ["phone": "+-"], csrfFrom: find)
            #expect(bad.status == .badRequest)
            #expect(bad.html.contains(#"id="phone-error""#) && bad.html.contains(#"value="+-""#), "\(bad.html)")
            var other = WebVisitor(client)
            try await other.signIn("clerk2")
            let otherFind = try await other.get("/find")
            let none = try await other.post("/find", ["phone": "+221770000000"], csrfFrom: otherFind)
            #expect(!none.html.contains(code) && none.html.contains(#"id="find-none""#))
            let cases = try await clerk.get("/cases")
            WebVisitor.checkForms(cases, "cases")
            #expect(cases.html.contains(code) && cases.html.contains("Open"))
            #expect(!(try await other.get("/cases").html.contains(code)))
            #expect(try await clerk.get("/cases?loop=sideways").status == .badRequest)
            #expect(try await clerk.post("/find", ["phone": "+221770000000"]).status == .forbidden, "no CSRF token")
        }
    }
}

extension Optional where Wrapped == Bool {
    fileprivate var isTrue: Bool { self == true }
}
