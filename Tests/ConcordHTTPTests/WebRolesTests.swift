import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The pages of the coordinator, the M&E dashboard and the admin, and who opens which: each role reaches its own
/// pages and gets the HTML 403 page on the others; the coordinator sees its area only, sensitive complaints as
/// counts; the dashboard's figures are the API's; admins manage users and tokens with errors beside the fields.
@Suite(.timeLimit(.minutes(3))) struct WebRolesTests {
    /// The demo users' logins, roles and scopes (deploy/demo-users.json), with the tests' password.
    static let people: [(login: String, role: Role, scope: String?, focal: Bool)] = [
        ("clerk", .office, "OFF-001", false), ("cct.officer", .programme, "CCT", false),
        ("cct.focal", .programme, "CCT", true), ("coordinator", .coordinator, "P-01", false),
        ("auditor", .auditor, nil, false), ("admin", .admin, nil, false),
    ]

    /// Which role opens which page, written out here rather than read from the code under test.
    static let opens: [String: Set<Role>] = [
        "/complaints/new": [.office], "/appeals/new": [.office], "/referrals/new": [.office, .programme],
        "/cases": [.office, .programme], "/feedback": [.office, .programme], "/queue": [.programme],
        "/area": [.coordinator, .auditor, .admin],
        "/dashboard": Set(Role.allCases), "/admin/users": [.admin], "/admin/tokens": [.admin],
    ]

    static func users(_ settings: DatabaseSettings) async throws {
        for person in Self.people {
            try await Users.create(
                settings, login: person.login, role: person.role, scope: person.scope, focalPoint: person.focal)
        }
    }

    /// 2026-09-15T10:00:00Z.
    static let september = Timestamp(microsecondsSinceEpoch: 1_789_466_400_000_000)

    static func complaint(_ changes: [String: String]) -> String {
        var body = Body.complaint.replacingOccurrences(of: #""programme":"CCT""#, with: #""programme":"PENSION""#)
        for (old, new) in changes { body = body.replacingOccurrences(of: old, with: new) }
        return body
    }

    static func lodge(_ client: some TestClientProtocol, _ token: String, _ body: String) async throws -> String {
        let answer = try await client.send(.post, "/v1/complaints", token: token, body: body)
        #expect(answer.status == .created, "\(answer.text)")
        return try #require(answer["id"]?.stringValue)
    }

    @Test func eachRoleReachesItsPagesAndGetsTheForbiddenPageOnOthers() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var anonymous = WebVisitor(client)
            let css = try await anonymous.get("/static/concord.css").html.utf8.count
            for person in Self.people {
                var visitor = WebVisitor(client)
                try await visitor.signIn(person.login)
                let home = try await visitor.get("/")
                for (path, roles) in Self.opens.sorted(by: { $0.key < $1.key }) {
                    let page = try await visitor.get(path)
                    let link = home.html.contains(#"<a href="\#(path)" id="nav-"#)
                    if roles.contains(person.role) {
                        #expect(page.status == .ok, "\(person.login) \(path): \(page.status)")
                        #expect(link, "\(person.login): no link to \(path) on the home page")
                        WebVisitor.checkForms(page, "\(person.login) \(path)")
                        // A page's first load, HTML and the stylesheet, stays under 100 KB.
                        #expect(page.html.utf8.count + css < 100_000, "\(person.login) \(path)")
                    } else {
                        #expect(!link, "\(person.login): a link to \(path), which refuses the role")
                        #expect(page.status == .forbidden, "\(person.login) \(path): \(page.status)")
                        #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
                        #expect(page.html.contains(#"<html lang="en">"#) && page.html.contains("Not allowed"))
                        WebVisitor.checkForms(page, "403 for \(person.login) \(path)")
                    }
                }
            }
        }
    }

    /// A POST without its CSRF token gets the HTML 403 page, in the visitor's language, and changes nothing.
    @Test func aFailedCSRFCheckIsAnHTMLPage() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var admin = WebVisitor(client, language: "fr")
            try await admin.signIn("admin")
            let fields = ["login": "intruder", "name": "Intruder", "role": "admin", "password": "long enough pass"]
            let refused = try await admin.post("/admin/users", fields)
            #expect(refused.status == .forbidden)
            #expect(refused.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(refused.html.contains(#"<html lang="fr">"#) && refused.html.contains("Ce formulaire a expiré"))
            WebVisitor.checkForms(refused, "CSRF 403")
            #expect(!(try await admin.get("/admin/users").html.contains("intruder")))
            // The API keeps its problem documents.
            let api = try await client.send(.get, "/v1/users", cookie: try #require(admin.cookies["concord_session"]))
            #expect(api.status == .ok)
        }
    }

    /// A signed-in user of another role who posts the admin's forms, with a valid token of their own session, is
    /// refused with the 403 page and nothing is created.
    @Test func anotherRolePostingTheAdminsFormsIsRefused() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var coordinator = WebVisitor(client)
            try await coordinator.signIn("coordinator")
            let own = try await coordinator.get("/area")
            let user = ["login": "sneaky", "name": "Sneaky", "role": "admin", "password": "long enough password"]
            let created = try await coordinator.post("/admin/users", user, csrfFrom: own)
            #expect(created.status == .forbidden && created.html.contains("Not allowed"))
            let token = try await coordinator.post(
                "/admin/tokens", ["role": "admin", "expires_days": "365"], csrfFrom: own)
            #expect(token.status == .forbidden && !token.html.contains("concord_"))
            var admin = WebVisitor(client)
            try await admin.signIn("admin")
            #expect(!(try await admin.get("/admin/users").html.contains("sneaky")))
            #expect(try await admin.get("/admin/tokens").html.contains(#"<tbody></tbody>"#))
        }
    }

    /// Overdue loops, escalations and sensitive counts of the coordinator's province, by district and community:
    /// never another province, never a sensitive complaint's details; the case pages linked are readable.
    @Test func theCoordinatorSeesItsAreaAndSensitiveCasesOnlyAsCounts() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let clock = ManualClock(Self.september)
        try await withApplication(settings: settings, configure: { $0.clock = clock.wallClock }) { client in
            try await Self.users(settings)
            let late = try await Self.lodge(client, tokens.office, Self.complaint([:]))
            let escalated = try await Self.lodge(
                client, tokens.office, Self.complaint([#""area":"D-01""#: #""area":"C-01-01""#]))
            let up = try await client.send(
                .post, "/v1/complaints/\(escalated)/escalate", token: tokens.admin,
                body: #"{"to_area":"D-01","reason":"Needs the district."}"#)
            #expect(up.status == .ok, "\(up.text)")
            let sensitive = try await Self.lodge(
                client, tokens.office,
                Self.complaint([
                    #""category":"payment_delay""#: #""category":"sexual_exploitation_abuse""#,
                    "The March payment is late.": "SENSITIVE-DETAIL",
                ]))
            let elsewhere = try await Self.lodge(
                client, tokens.office, Self.complaint([#""area":"D-01""#: #""area":"D-03""#]))
            clock.advance(days: 10)
            try await waitForProjections(settings)

            var coordinator = WebVisitor(client)
            try await coordinator.signIn("coordinator")
            let page = try await coordinator.get("/area")
            #expect(page.status == .ok)
            WebVisitor.checkForms(page, "/area")
            // The same cases as the API's lists for the coordinator, and by district as their areas say.
            let apiOverdue = try await Self.items(client, "/v1/loops?loop=overdue", "loops", tokens.coordinator)
            let apiEscalated = try await Self.items(
                client, "/v1/areas/P-01/escalations", "escalations", tokens.coordinator)
            #expect(apiOverdue[late] == "D-01", "\(apiOverdue)")
            #expect(Set(apiEscalated.keys) == [escalated], "\(apiEscalated)")
            #expect(Self.ids(in: page.html, list: "overdue-list") == Set(apiOverdue.keys))
            #expect(Self.ids(in: page.html, list: "escalated-list") == Set(apiEscalated.keys))
            #expect(page.html.contains(#"href="/complaints/\#(late)""#))
            let inD01 = apiOverdue.values.filter { ["D-01", "C-01-01", "C-01-02"].contains($0) }.count
            let inC0101 = apiOverdue.values.filter { $0 == "C-01-01" }.count
            #expect(page.html.contains(#"id="overdue-D-01">\#(inD01)<"#), "\(page.html)")
            #expect(page.html.contains(#"id="overdue-C-01-01">\#(inC0101)<"#))
            #expect(page.html.contains(#"id="escalated-D-01">1<"#))
            #expect(page.html.contains(#"id="overdue-D-02">0<"#))
            #expect(
                page.html.contains(#"id="sensitive-total">1<"#) && page.html.contains(#"id="sensitive-overdue">1<"#))
            for hidden in [sensitive, "SENSITIVE-DETAIL", elsewhere, "D-03", "Amina"] {
                #expect(!page.html.contains(hidden), "the coordinator's page shows \(hidden)")
            }
            // Another province is refused, with the 403 page; an area below the coordinator's opens.
            let other = try await coordinator.get("/area?area=P-02")
            #expect(other.status == .forbidden && !other.html.contains(elsewhere))
            #expect(try await coordinator.get("/area?area=D-01").status == .ok)
            // The case pages it links to open for the coordinator; the sensitive one does not.
            #expect(try await coordinator.get("/complaints/\(late)").status == .ok)
            #expect(try await coordinator.get("/complaints/\(sensitive)").status == .notFound)
            // An auditor chooses any area.
            var auditor = WebVisitor(client)
            try await auditor.signIn("auditor")
            let province = try await auditor.get("/area?area=P-02")
            #expect(province.status == .ok && province.html.contains(elsewhere))
        }
    }

    /// A list of the API as id to current area; a failed request fails the test.
    static func items(
        _ client: some TestClientProtocol, _ uri: String, _ key: String, _ token: String
    ) async throws -> [String: String] {
        let answer = try await client.send(.get, uri, token: token)
        #expect(answer.status == .ok, "\(uri): \(answer.text)")
        guard case .array(let items)? = answer[key] else { return [:] }
        var out: [String: String] = [:]
        for item in items {
            if let id = item["id"]?.stringValue { out[id] = item["area"]?.stringValue ?? "" }
        }
        return out
    }

    /// The tracking codes linked in the page's list `list`.
    static func ids(in html: String, list: String) -> Set<String> {
        guard let start = html.range(of: #"id="\#(list)">"#) else { return [] }
        let rest = html[start.upperBound...]
        let body = rest.range(of: "</ul>").map { rest[..<$0.lowerBound] } ?? rest
        return Set(body.matches(of: #/href="/[a-z]+s/([A-Z0-9-]+)"/#).map { String($0.1) })
    }

    @Test func aBadAreaOrNoneAtAllIsRefusedPolitely() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await Self.users(settings)
            var coordinator = WebVisitor(client)
            try await coordinator.signIn("coordinator")
            for uri in ["/area?area=NOWHERE", "/area?area=%3Cscript%3E"] {
                let page = try await coordinator.get(uri)
                #expect(page.status == .forbidden, "\(uri)")
                #expect(!page.html.contains("<script"), "\(uri)")
            }
        }
    }
}
