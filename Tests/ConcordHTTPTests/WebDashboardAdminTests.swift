import ConcordCore
import ConcordStore
import ConcordTestSupport
import ConcordWeb
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The M&E dashboard: its figures are the API's, its charts well-formed SVG with a title, a description and a table,
/// its CSV the API's file; and the admin pages: users and tokens, errors beside the fields.
@Suite(.timeLimit(.minutes(3))) struct WebDashboardTests {
    static let period = "from=2026-09-01&to=2026-12-01"

    /// Four complaints in September and October 2026 (IndicatorBreakdownTests' data), one of them closed.
    static func lodge(_ client: some TestClientProtocol, _ tokens: Tokens, _ clock: ManualClock) async throws {
        try await IndicatorBreakdownTests.lodgeKnownData(client, tokens, clock)
        let other = Body.complaint.replacingOccurrences(of: #""area":"D-01""#, with: #""area":"D-03""#)
            .replacingOccurrences(of: #""programme":"CCT""#, with: #""programme":"PENSION""#)
        #expect(try await client.send(.post, "/v1/complaints", token: tokens.office, body: other).status == .created)
    }

    @Test func theDashboardShowsTheAPIsFiguresAsSVGChartsWithTables() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let clock = ManualClock(IndicatorBreakdownTests.september)
        try await withApplication(settings: settings, configure: { $0.clock = clock.wallClock }) { client in
            try await WebRolesTests.users(settings)
            try await Self.lodge(client, tokens, clock)
            try await waitForProjections(settings)
            var auditor = WebVisitor(client)
            try await auditor.signIn("auditor")
            let page = try await auditor.get("/dashboard?\(Self.period)")
            #expect(page.status == .ok)
            WebVisitor.checkForms(page, "/dashboard")
            let session = try #require(auditor.cookies["concord_session"])
            for (chart, query) in [
                ("programme", "group_by=programme"), ("area", "group_by=area"), ("month", "group_by=total&by=month"),
                ("sex", "group_by=sex"), ("age_group", "group_by=age_group"), ("disability", "group_by=disability"),
            ] {
                let api = try await client.send(.get, "/v1/indicators?\(query)&\(Self.period)", cookie: session)
                #expect(api.status == .ok, "\(api.text)")
                guard case .array(let rows)? = api["indicators"] else {
                    Issue.record("no indicators: \(api.text)")
                    continue
                }
                #expect(!rows.isEmpty, "\(chart)")
                for row in rows {
                    let key = (chart == "month" ? row["month"] : row["group"])?.stringValue ?? ""
                    for name in ["cases_opened", "loops_closed", "open_now", "overdue_now"] {
                        guard case .integer(let value)? = row[name] else { continue }
                        #expect(
                            page.html.contains(#"<td id="\#(chart)-\#(key)-\#(name)">\#(value)</td>"#),
                            "\(chart) \(key) \(name) is not \(value) on the page")
                    }
                }
                // One bar per row of the API, in a well-formed SVG with its title and description.
                let svg = try #require(Self.svg(page.html, id: "chart-\(chart)"), "\(chart)")
                #expect(Self.wellFormed(svg), "\(chart): \(svg)")
                #expect(svg.contains("<title id=") && svg.contains("<desc id="))
                #expect(svg.matches(of: #/<rect class="bar"/#).count == rows.count, "\(chart)")
                #expect(page.html.contains(#"<table class="figures" id="table-\#(chart)">"#))
            }
            // The headline is the API's total.
            let total = try await client.send(.get, "/v1/indicators?\(Self.period)", cookie: session)
            guard case .array(let totals)? = total["indicators"],
                case .integer(let opened)? = totals.first?["cases_opened"]
            else {
                Issue.record("\(total.text)")
                return
            }
            #expect(page.html.contains(#"<dd id="headline-cases_opened">\#(opened)</dd>"#))
            #expect(opened == 5)
        }
    }

    /// The CSV link of a chart downloads, under the web session, the API's file for the same query and filters.
    @Test func theCSVLinkDownloadsTheFiltersFile() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let clock = ManualClock(IndicatorBreakdownTests.september)
        try await withApplication(settings: settings, configure: { $0.clock = clock.wallClock }) { client in
            try await WebRolesTests.users(settings)
            try await Self.lodge(client, tokens, clock)
            try await waitForProjections(settings)
            var auditor = WebVisitor(client)
            try await auditor.signIn("auditor")
            let page = try await auditor.get("/dashboard?\(Self.period)&programme=CCT")
            #expect(page.status == .ok)
            #expect(page.html.contains(#"<option value="CCT" selected>"#))
            let link = try #require(
                page.html.firstMatch(of: #/<a href="([^"]+)" id="csv-programme"/#).map {
                    String($0.1).replacingOccurrences(of: "&amp;", with: "&")
                })
            #expect(link.contains("programme=CCT") && link.contains("from=2026-09-01"), "\(link)")
            let file = try await auditor.get(link)
            #expect(file.status == .ok)
            #expect(file.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(file.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            let lines = file.html.split(separator: "\r\n")
            // The programme filter leaves CCT's four complaints; PENSION's is out.
            #expect(lines.count == 2 && lines[1].hasPrefix("CCT,4,"), "\(file.html)")
            let bearer = try await client.send(.get, link, token: tokens.auditor)
            #expect(bearer.text == file.html)
            // A coordinator's dashboard counts its province only: the complaint in D-03 is out.
            var coordinator = WebVisitor(client)
            try await coordinator.signIn("coordinator")
            let own = try await coordinator.get("/dashboard?\(Self.period)")
            #expect(own.html.contains(#"<dd id="headline-cases_opened">4</dd>"#), "\(own.html)")
        }
    }

    /// In French: the labels, the months and the period as French writes them.
    @Test func theDashboardSpeaksFrench() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        let clock = ManualClock(IndicatorBreakdownTests.september)
        try await withApplication(settings: settings, configure: { $0.clock = clock.wallClock }) { client in
            try await WebRolesTests.users(settings)
            try await Self.lodge(client, tokens, clock)
            try await waitForProjections(settings)
            var auditor = WebVisitor(client, language: "fr")
            try await auditor.signIn("auditor")
            let page = try await auditor.get("/dashboard?\(Self.period)")
            #expect(page.html.contains(#"<html lang="fr">"#) && page.html.contains("Cas par programme"))
            #expect(page.html.contains(#"<th scope="row">sept. 2026</th>"#), "\(page.html)")
            #expect(page.html.contains("1 sept. 2026"), "the period in French")
            #expect(page.html.contains("Non renseigné") && !page.html.contains("Not recorded"))
        }
    }

    /// A filter that does not parse is said beside its field, with what was typed, and nothing is computed.
    @Test func aBadFilterIsSaidBesideItsField() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await WebRolesTests.users(settings)
            var auditor = WebVisitor(client)
            try await auditor.signIn("auditor")
            let page = try await auditor.get("/dashboard?from=2026-13-01&area=%3Cb%3E")
            #expect(page.status == .badRequest)
            #expect(page.html.contains(#"id="from-error""#) && page.html.contains(#"value="2026-13-01""#))
            #expect(page.html.contains(#"id="area-error""#) && !page.html.contains("<b>"))
            #expect(!page.html.contains("<svg"))
            let reversed = try await auditor.get("/dashboard?from=2026-12-01&to=2026-09-01")
            #expect(reversed.status == .badRequest && reversed.html.contains(#"id="from-error""#))
        }
    }

    /// Dates, months and numbers as each language writes them.
    @Test func numbersAndDatesFollowTheLanguage() async throws {
        let (english, french) = (WebLocale.named("en"), WebLocale.named("fr"))
        #expect(english.number(1234.5) == "1,234.5")
        let frenchNumber = french.number(1234.5)
        #expect(frenchNumber.hasSuffix("234,5") && frenchNumber.hasPrefix("1") && !frenchNumber.contains("."))
        #expect(english.percent(0.42) == "42%")
        #expect(french.percent(0.42).hasPrefix("42") && french.percent(0.42).hasSuffix("%"))
        #expect(english.month("2026-09") == "Sep 2026")
        #expect(french.month("2026-09").hasPrefix("sept") && french.month("2026-09").hasSuffix("2026"))
        #expect(english.month("not a month") == "not a month")
        let day = Timestamp(microsecondsSinceEpoch: 1_789_466_400_000_000)
        #expect(english.day(day) == "15 Sept 2026" || english.day(day) == "15 Sep 2026", "\(english.day(day))")
        #expect(french.day(day).contains("sept") && french.day(day).hasPrefix("15"), "\(french.day(day))")
    }

    /// The `<svg>` element whose id is `id`.
    static func svg(_ html: String, id: String) -> String? {
        for piece in html.components(separatedBy: "<svg ").dropFirst() where piece.contains(#"id="\#(id)""#) {
            guard let end = piece.range(of: "</svg>") else { return nil }
            return "<svg " + piece[..<end.upperBound]
        }
        return nil
    }

    static func wellFormed(_ svg: String) -> Bool {
        XMLParser(data: Data(svg.utf8)).parse()
    }
}

/// The admin pages: users (create, change, deactivate) and tokens (issue, shown once; revoke), through the same
/// rules as `/v1/users` and `concord token`.
@Suite(.timeLimit(.minutes(3))) struct WebAdminTests {
    @Test func aBadUserIsRefusedBesideItsFieldsAndKeepsWhatWasTyped() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await WebRolesTests.users(settings)
            var admin = WebVisitor(client)
            try await admin.signIn("admin")
            let form = try await admin.get("/admin/users")
            let fields = [
                "login": "new.clerk", "name": "Awa <Ndoye>", "role": "office", "scope": "NOPE",
                "password": "secret password 1",
            ]
            let refused = try await admin.post("/admin/users", fields, csrfFrom: form)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.html.contains(#"id="scope-error""#), "\(refused.html)")
            #expect(
                refused.html.contains(#"value="new.clerk""#) && refused.html.contains(#"value="Awa &lt;Ndoye&gt;""#))
            #expect(
                refused.html.contains(#"value="NOPE""#) && refused.html.contains(#"<option value="office" selected>"#))
            #expect(!refused.html.contains("secret password 1"), "the password is not sent back")
            WebVisitor.checkForms(refused, "refused user")
            // A short password and a taken login: each said beside its field.
            var again = fields
            (again["scope"], again["password"], again["login"]) = ("OFF-001", "short", "CLERK")
            let twice = try await admin.post("/admin/users", again, csrfFrom: form)
            #expect(twice.html.contains(#"id="password-error""#), "\(twice.html)")
            again["password"] = "long enough password"
            let taken = try await admin.post("/admin/users", again, csrfFrom: form)
            #expect(taken.status == .conflict && taken.html.contains(#"id="login-error""#), "\(taken.html)")
            // A user that does not exist, or an id that is none: the HTML not-found page.
            for path in ["/admin/users/not-an-id", "/admin/users/\(UUID().uuidString)"] {
                let missing = try await admin.get(path)
                #expect(missing.status == .notFound && missing.html.contains("<html"), "\(path)")
            }
            // Nothing was stored by the refusals.
            #expect(!(try await admin.get("/admin/users").html.contains("new.clerk")))
        }
    }

    @Test func anAdminCreatesChangesAndDeactivatesAUser() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await WebRolesTests.users(settings)
            var admin = WebVisitor(client)
            try await admin.signIn("admin")
            let form = try await admin.get("/admin/users")
            let created = try await admin.post(
                "/admin/users",
                [
                    "login": "awa", "name": "Awa Ndoye", "role": "office", "scope": "OFF-002",
                    "password": Users.password,
                ],
                csrfFrom: form)
            #expect(created.status == .seeOther, "\(created.html)")
            let location = try #require(created.headers[.location])
            let page = try await admin.get(location)
            #expect(page.html.contains("awa") && page.html.contains(#"value="OFF-002""#))
            WebVisitor.checkForms(page, "user page")
            var awa = WebVisitor(client)
            try await awa.signIn("awa")
            #expect(try await awa.get("/complaints/new").status == .ok)
            // A change of role and scope: the focal point flag goes with a programme only.
            let badChange = try await admin.post(
                location, ["name": "Awa Ndoye", "role": "office", "scope": "OFF-002", "focal_point": "yes"],
                csrfFrom: page)
            #expect(badChange.status == .unprocessableContent && badChange.html.contains(#"id="focal_point-error""#))
            let changed = try await admin.post(
                location, ["name": "Awa Ndoye", "role": "programme", "scope": "CCT", "focal_point": "yes"],
                csrfFrom: page)
            #expect(changed.status == .seeOther, "\(changed.html)")
            let after = try await admin.get(location)
            #expect(
                after.html.contains(#"<option value="programme" selected>"#) && after.html.contains(#"value="CCT""#))
            // Deactivated: the session ends and the user can no longer sign in.
            #expect(try await admin.post(location, ["active": "false"], csrfFrom: after).status == .seeOther)
            try await poll(within: .seconds(10), "the deactivated user's session still works") {
                try await awa.get("/dashboard").html.contains(#"action="/signin""#)
            }
            var retry = WebVisitor(client)
            let signIn = try await retry.get("/")
            let refused = try await retry.post(
                "/signin", ["login": "awa", "password": Users.password], csrfFrom: signIn)
            #expect(refused.status != .seeOther)
            // An admin cannot deactivate themselves.
            let list = try await admin.get("/admin/users")
            let own = try #require(
                list.html.firstMatch(of: #/href="(/admin/users/[0-9a-f-]+)">admin</#).map { String($0.1) })
            let selfRefused = try await admin.post(own, ["active": "false"], csrfFrom: list)
            #expect(selfRefused.status == .unprocessableContent && selfRefused.html.contains(#"id="active-error""#))
        }
    }

    @Test func aTokenIsShownOnceWorksAndIsRevoked() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            try await WebRolesTests.users(settings)
            var admin = WebVisitor(client)
            try await admin.signIn("admin")
            let form = try await admin.get("/admin/tokens")
            WebVisitor.checkForms(form, "/admin/tokens")
            let bad = try await admin.post(
                "/admin/tokens", ["role": "office", "label": "Kiosk 7", "expires_days": "0"], csrfFrom: form)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.html.contains(#"id="scope-error""#) && bad.html.contains(#"id="expires_days-error""#))
            #expect(bad.html.contains(#"value="Kiosk 7""#) && !bad.html.contains(#"id="token-secret""#))
            let issued = try await admin.post(
                "/admin/tokens",
                [
                    "role": "office", "scope": "OFF-001", "label": "Kiosk 7", "owner": "kiosk-team",
                    "expires_days": "90",
                ],
                csrfFrom: form)
            #expect(issued.status == .created, "\(issued.html)")
            let secret = try #require(
                issued.html.firstMatch(of: #/id="token-secret">(concord_[A-Za-z0-9_-]+)</#).map {
                    String($0.1)
                })
            #expect(try await client.send(.get, "/v1/offices/OFF-001/cases", token: secret).status == .ok)
            // The list never shows it again.
            let list = try await admin.get("/admin/tokens")
            #expect(!list.html.contains(secret) && list.html.contains("Kiosk 7") && list.html.contains("kiosk-team"))
            let revoke = try #require(
                list.html.firstMatch(of: #/action="(/admin/tokens/[0-9a-f-]+/revoke)"/#).map { String($0.1) })
            #expect(try await admin.post(revoke, [:], csrfFrom: list).status == .seeOther)
            try await poll(within: .seconds(10), "the revoked token still works") {
                try await client.send(.get, "/v1/offices/OFF-001/cases", token: secret).status == .unauthorized
            }
            // Revoking it again says so; nothing changes.
            let again = try await admin.post(revoke, [:], csrfFrom: list)
            #expect(again.status == .conflict)
        }
    }
}
