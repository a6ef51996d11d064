import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A browser without a browser: keeps the cookies it is given, sends forms as a browser does, and reads the pages'
/// HTML enough to check their forms and fields.
struct WebVisitor {
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]

    init(_ client: any TestClientProtocol, language: String? = nil) {
        self.client = client
        if let language { self.cookies["lang"] = language }
    }

    struct Page {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var html: String
    }

    mutating func get(_ uri: String, headers extra: HTTPFields = [:]) async throws -> Page {
        try await self.send(.get, uri, form: nil, headers: extra)
    }

    /// Posts `form` (urlencoded); with `csrfFrom`, the CSRF token of that page is added as a browser would send it.
    mutating func post(_ uri: String, _ form: [String: String], csrfFrom page: Page? = nil) async throws -> Page {
        var fields = form
        if let page {
            let token = Self.csrf(in: page.html)
            #expect(token != nil, "no CSRF token on the page")
            fields["csrf"] = token ?? ""
        }
        return try await self.send(.post, uri, form: fields, headers: [:])
    }

    private mutating func send(
        _ method: HTTPRequest.Method, _ uri: String, form: [String: String]?, headers extra: HTTPFields
    ) async throws -> Page {
        var headers = extra
        if !self.cookies.isEmpty {
            headers[.cookie] = self.cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: "; ")
        }
        var body: ByteBuffer?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            body = ByteBuffer(
                string: form.map {
                    "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
                }.joined(separator: "&"))
        }
        let page = try await self.client.execute(uri: uri, method: method, headers: headers, body: body) { response in
            Page(status: response.status, headers: response.headers, html: String(buffer: response.body))
        }
        for cookie in page.headers[values: .setCookie] {
            let pair = cookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if pair[1].isEmpty {
                self.cookies[String(pair[0])] = nil
            } else {
                self.cookies[String(pair[0])] = String(pair[1])
            }
        }
        return page
    }

    /// Signs in through the sign-in form; expects the redirect home.
    mutating func signIn(_ login: String, _ password: String = Users.password) async throws {
        let form = try await self.get("/")
        let answer = try await self.post("/signin", ["login": login, "password": password], csrfFrom: form)
        #expect(answer.status == .seeOther, "\(answer.html)")
        #expect(self.cookies["concord_session"] != nil)
        // The session cookie is out of scripts' reach and not sent by other sites' forms; plain HTTP: not Secure.
        let cookie = answer.headers[values: .setCookie].first { $0.hasPrefix("concord_session=") } ?? ""
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "\(cookie)")
        #expect(!cookie.contains("Secure"), "\(cookie)")
    }

    static func csrf(in html: String) -> String? {
        guard let match = html.firstMatch(of: #/name="csrf" value="([0-9a-f]+)"/#) else { return nil }
        return String(match.1)
    }

    /// The checks every page passes: each form has a CSRF token (a GET form needs none), each field a label.
    static func checkForms(_ page: Page, _ name: String) {
        let forms = page.html.matches(of: #/<form([^>]*)>(.*?)</form>/#.dotMatchesNewlines())
        for form in forms {
            let attributes = String(form.1)
            if attributes.contains(#"method="post""#) {
                let token = csrf(in: String(form.2))
                #expect(token != nil && token?.isEmpty == false, "\(name): a form without a CSRF token: \(attributes)")
            }
        }
        let fields = page.html.matches(of: #/<(input|select|textarea)([^>]*)>/#)
        for field in fields where !field.2.contains(#"type="hidden""#) {
            let id = field.2.firstMatch(of: #/id="([^"]+)"/#).map { String($0.1) }
            #expect(id != nil, "\(name): a field without an id: \(field.0)")
            if let id { #expect(page.html.contains(#"<label for="\#(id)""#), "\(name): no label for \(id)") }
        }
        #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true, "\(name)")
        #expect(page.headers[.cacheControl] == "no-store", "\(name)")
        #expect(!page.html.contains("<script"), "\(name)")
        #expect(!page.html.contains("style="), "\(name): inline style")
    }

    /// The form fields of a lodging that works.
    static let complaint: [String: String] = [
        "channel": "walk_in", "category": "payment_delay", "programme": "CCT", "area": "D-01",
        "name": "Amina Diallo", "phone": "+221770000000", "contact_preference": "sms",
        "description": "The March payment has not arrived.", "form_id": "test-form-1",
    ]

    /// Lodges through the form; the tracking code the slip shows.
    mutating func lodge(_ fields: [String: String] = WebVisitor.complaint) async throws -> String {
        let form = try await self.get("/complaints/new")
        #expect(form.status == .ok, "\(form.html)")
        let answer = try await self.post("/complaints", fields, csrfFrom: form)
        #expect(answer.status == .seeOther, "\(answer.html)")
        let location = try #require(answer.headers[.location])
        let slip = try await self.get(location)
        let code = try #require(slip.html.firstMatch(of: #/id="tracking-code">([A-Z0-9-]+)</#).map { String($0.1) })
        #expect(location == "/complaints/\(code)/slip")
        return code
    }
}

@Suite(.timeLimit(.minutes(3))) struct WebPageTests {
    static func users(_ settings: DatabaseSettings) async throws {
        try await Users.create(settings, login: "clerk", role: .office, scope: "OFF-001")
        try await Users.create(settings, login: "clerk2", role: .office, scope: "OFF-002")
        try await Users.create(settings, login: "cct", role: .programme, scope: "CCT")
    }

    /// Every page a clerk and a programme officer see, from sign-in to the slip, the case, the queue and the
    /// public tracking page: each form has a CSRF token, each field a label, and the headers are the safe ones.
    @Test func everyFormHasACSRFTokenAndEveryFieldALabel() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            let signIn = try await clerk.get("/")
            #expect(signIn.html.contains(#"action="/signin""#))
            WebVisitor.checkForms(signIn, "sign-in")
            try await clerk.signIn("clerk")
            for uri in ["/", "/complaints/new", "/track"] {
                WebVisitor.checkForms(try await clerk.get(uri), uri)
            }
            let code = try await clerk.lodge()
            WebVisitor.checkForms(try await clerk.get("/complaints/\(code)/slip"), "slip")
            WebVisitor.checkForms(try await clerk.get("/complaints/\(code)"), "case (office)")
            var officer = WebVisitor(client)
            try await officer.signIn("cct")
            let casePage = try await officer.get("/complaints/\(code)")
            #expect(casePage.html.contains(#"id="form-acknowledge""#), "the programme may acknowledge")
            #expect(!casePage.html.contains(#"id="form-close""#), "closing is the office's")
            WebVisitor.checkForms(casePage, "case (programme)")
            WebVisitor.checkForms(try await officer.get("/queue"), "queue")
            #expect(try await officer.get("/queue").html.contains(code))
        }
    }

    /// A page shows only what its user may read: another office's complaint is 404 on its case page, without
    /// its details; the office that lodged it sees it, without its personal data in the title.
    @Test func anotherOfficesComplaintIsNotFound() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            let code = try await clerk.lodge()
            let own = try await clerk.get("/complaints/\(code)")
            #expect(own.status == .ok)
            #expect(own.html.contains("payment") || own.html.contains("Payment"))
            let title = try #require(own.html.firstMatch(of: #/<title>(.*?)</title>/#).map { String($0.1) })
            #expect(!title.contains("Amina") && !title.contains(code))
            var other = WebVisitor(client)
            try await other.signIn("clerk2")
            let page = try await other.get("/complaints/\(code)")
            #expect(page.status == .notFound)
            #expect(!page.html.contains("March payment"))
            #expect(!page.html.contains("form-notify_complainant"))
            // A code that names nothing, or is not a code at all, is the same 404 page.
            #expect(try await other.get("/complaints/C-0000-0000").status == .notFound)
            #expect(try await other.get("/complaints/not-a-code").status == .notFound)
        }
    }

    /// A page POST without its CSRF token, or with another session's, is refused and changes nothing.
    @Test func aPostWithoutCSRFIsRefused() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var stranger = WebVisitor(client)
            let refusedSignIn = try await stranger.post("/signin", ["login": "clerk", "password": Users.password])
            #expect(refusedSignIn.status == .forbidden)
            #expect(stranger.cookies["concord_session"] == nil)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            let withoutToken = try await clerk.post("/complaints", WebVisitor.complaint)
            #expect(withoutToken.status == .forbidden)
            var other = WebVisitor(client)
            try await other.signIn("clerk2")
            let otherForm = try await other.get("/complaints/new")
            let wrongToken = try await clerk.post("/complaints", WebVisitor.complaint, csrfFrom: otherForm)
            #expect(wrongToken.status == .forbidden)
            // Nothing was lodged: the log holds no complaint.
            let complaints = try await withStore(settings: settings) { store in
                try await store.readAll(after: 0, streamType: "complaint")
            }
            #expect(complaints.isEmpty)
        }
    }

    /// A failed form keeps what was typed and says next to the field what to fix: `sms` without a phone.
    @Test func aFailedFormKeepsTheTypedTextAndNamesTheField() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            var fields = WebVisitor.complaint
            fields["phone"] = nil
            fields["description"] = "Paiement <b>absent</b> depuis mars"
            let form = try await clerk.get("/complaints/new")
            let failed = try await clerk.post("/complaints", fields, csrfFrom: form)
            #expect(failed.status == .unprocessableContent)
            #expect(failed.html.contains(#"id="contact_preference-error""#), "\(failed.html)")
            // What was typed is back, escaped: the markup is text, not markup.
            #expect(failed.html.contains("Paiement &lt;b&gt;absent&lt;/b&gt; depuis mars"))
            #expect(failed.html.contains(#"value="Amina Diallo""#))
            #expect(failed.html.contains(#"<option value="walk_in" selected>"#))
        }
    }

    /// The programme acknowledges through the case page's form; a command the user may not send is not offered,
    /// and the public tracking page tells the visitor, in French, what happened, with no personal data.
    @Test func commandsFromTheCasePageAndTheTrackingPageInFrench() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var clerk = WebVisitor(client)
            try await clerk.signIn("clerk")
            let code = try await clerk.lodge()
            var officer = WebVisitor(client)
            try await officer.signIn("cct")
            let casePage = try await officer.get("/complaints/\(code)")
            let acknowledged = try await officer.post("/complaints/\(code)/acknowledge", [:], csrfFrom: casePage)
            #expect(acknowledged.status == .seeOther, "\(acknowledged.html)")
            let after = try await officer.get("/complaints/\(code)")
            #expect(after.html.contains(#"id="form-assign""#))
            #expect(!after.html.contains(#"id="form-acknowledge""#))
            // The office may not send the programme's command, whatever it posts.
            let clerkPage = try await clerk.get("/complaints/\(code)")
            let refused = try await clerk.post("/complaints/\(code)/assign", [:], csrfFrom: clerkPage)
            #expect(refused.status != .seeOther)
            var visitor = WebVisitor(client, language: "fr")
            let tracked = try await visitor.get("/track?code=\(code)")
            #expect(tracked.status == .ok)
            #expect(tracked.html.contains("Votre plainte a été reçue et est transmise au programme responsable."))
            #expect(tracked.html.contains(#"<html lang="fr">"#))
            #expect(!tracked.html.contains("Amina") && !tracked.html.contains("March payment"))
            var english = WebVisitor(client)
            let mistyped = try await english.get("/track?code=C-0000-000", headers: [.acceptLanguage: "en-GB,en;q=0.8"])
            #expect(mistyped.status == .badRequest || mistyped.status == .notFound)
        }
    }
}
