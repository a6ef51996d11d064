import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing

/// A cheap bcrypt for the application under test, and the other sign-in settings as given.
private func lowCost(
    _ change: @escaping @Sendable (inout SignInSettings) -> Void = { _ in }
)
    -> @Sendable (inout AppContext) -> Void
{
    { context in
        context.signIn.bcryptCost = Users.bcryptCost
        change(&context.signIn)
    }
}

private func json(_ members: JSONValue) -> String { String(decoding: CanonicalJSON.encode(members), as: UTF8.self) }

/// `/v1/users`: admins manage users; everyone else is refused; bad input names its field and changes nothing.
@Suite(.timeLimit(.minutes(2))) struct UserAPITests {
    @Test func adminsCreateChangeAndDeactivateUsers() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings, configure: lowCost()) { client in
            let body = json([
                "login": "Clerk.One", "name": "Fatou Ndiaye", "role": "office", "scope": "OFF-001",
                "password": "a long enough password",
            ])
            #expect(try await client.send(.post, "/v1/users", token: tokens.office, body: body).status == .forbidden)
            let created = try await client.send(.post, "/v1/users", token: tokens.admin, body: body)
            #expect(created.status == .created, "\(created.json)")
            let id = try #require(created["id"]?.stringValue)
            #expect(created.headers[.location] == "/v1/users/\(id)")
            #expect(created["login"] == "Clerk.One" && created["active"] == true && created["scope"] == "OFF-001")
            #expect(!created.text.contains("password") && !created.text.contains("$2b$"))

            // The login is unique in any case.
            let again = try await client.send(
                .post, "/v1/users", token: tokens.admin,
                body: body.replacingOccurrences(of: "Clerk.One", with: "clerk.one"))
            #expect(again.status == .conflict && again["field"] == "login", "\(again.json)")

            let refused: [(JSONValue, HTTPResponse.Status, String)] = [
                (
                    ["login": "x", "name": "X", "role": "office", "scope": "OFF-999", "password": "long enough pw"],
                    .unprocessableContent, "scope"
                ),
                (
                    ["login": "x", "name": "X", "role": "programme", "scope": "D-01", "password": "long enough pw"],
                    .unprocessableContent, "scope"
                ),
                (
                    ["login": "x", "name": "X", "role": "auditor", "scope": "OFF-001", "password": "long enough pw"],
                    .unprocessableContent, "scope"
                ),
                (
                    ["login": "x", "name": "X", "role": "office", "scope": "OFF-001", "password": "short"],
                    .unprocessableContent, "password"
                ),
                (
                    ["login": "x y", "name": "X", "role": "auditor", "password": "long enough pw"],
                    .unprocessableContent, "login"
                ),
                (
                    [
                        "login": "x", "name": "X", "role": "office", "scope": "OFF-001", "focal_point": true,
                        "password": "long enough pw",
                    ], .unprocessableContent, "focal_point"
                ),
                (["login": "x", "name": "X", "role": "clerk", "password": "long enough pw"], .badRequest, "role"),
                (["login": "x", "name": "X", "role": "auditor"], .badRequest, "password"),
                (
                    ["login": "x", "name": "X", "role": "auditor", "password": "long enough pw", "admin": true],
                    .badRequest, "admin"
                ),
            ]
            for (request, status, field) in refused {
                let answer = try await client.send(.post, "/v1/users", token: tokens.admin, body: json(request))
                #expect(answer.status == status && answer["field"] == .string(field), "\(field): \(answer.json)")
                #expect(answer.headers[.contentType] == "application/problem+json")
            }
            let listed = try await client.send(.get, "/v1/users", token: tokens.admin)
            #expect(listed["users"]?.arrayValue?.count == 1, "nothing else was stored: \(listed.json)")

            // A change keeps what it does not name; a scope is checked against the new role.
            let moved = try await client.send(
                .patch, "/v1/users/\(id)", token: tokens.admin,
                body: json(["name": "Fatou N.", "role": "programme", "scope": "HEALTH"]))
            #expect(moved.status == .ok && moved["name"] == "Fatou N." && moved["scope"] == "HEALTH", "\(moved.json)")
            let unfit = try await client.send(
                .patch, "/v1/users/\(id)", token: tokens.admin, body: json(["role": "coordinator"]))
            #expect(unfit.status == .unprocessableContent && unfit["field"] == "scope", "\(unfit.json)")
            let login = try await client.send(
                .patch, "/v1/users/\(id)", token: tokens.admin, body: json(["login": "someone"]))
            #expect(login.status == .badRequest && login["field"] == "login")
            #expect(try await client.send(.get, "/v1/users/\(id)", token: tokens.admin)["role"] == "programme")

            let deactivated = try await client.send(.delete, "/v1/users/\(id)", token: tokens.admin)
            #expect(deactivated.status == .ok && deactivated["active"] == false)
            #expect(try await client.signIn("clerk.one", "a long enough password").answer.status == .unauthorized)
            #expect(try await client.send(.get, "/v1/users/\(UUID())", token: tokens.admin).status == .notFound)
        }
    }

    @Test func signInGivesAWorkingBearerAndCookieSession() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings, configure: lowCost()) { client in
            try await Users.create(settings, login: "clerk", role: .office, scope: "OFF-001", name: "Fatou Ndiaye")
            let (secret, answer) = try await client.signIn("CLERK")
            let session = try #require(secret, "\(answer.json)")
            #expect(answer["user"]?["login"] == "clerk" && answer["role"] == "office" && answer["scope"] == "OFF-001")
            #expect(answer["expires_at"]?.stringValue != nil)
            let cookie = try #require(answer.headers[.setCookie])
            for attribute in ["concord_session=\(session)", "HttpOnly", "SameSite=Lax", "Path=/"] {
                #expect(cookie.contains(attribute), "\(cookie)")
            }
            #expect(!cookie.contains("Secure"))
            var forwarded = HTTPFields()
            forwarded[HTTPField.Name("X-Forwarded-Proto")!] = "https"
            let overTLS = try await client.send(
                .post, "/v1/sessions", token: nil, body: json(["login": "clerk", "password": .string(Users.password)]),
                headers: forwarded)
            #expect(overTLS.headers[.setCookie]?.contains("Secure") == true)

            let bearer = try await client.send(.get, "/v1/sessions/current", token: session)
            #expect(bearer.status == .ok && bearer["user"]?["name"] == "Fatou Ndiaye" && bearer["kind"] == "session")
            let byCookie = try await client.send(.get, "/v1/sessions/current", cookie: session)
            #expect(byCookie.status == .ok && byCookie["user"]?["login"] == "clerk")
            let token = try await client.send(.get, "/v1/sessions/current", token: tokens.office)
            #expect(token["kind"] == "token" && token["user"] == nil)

            // An event the user causes names them, and their office.
            let lodged = try await client.send(.post, "/v1/complaints", cookie: session, body: Body.complaint)
            #expect(lodged.status == .created, "\(lodged.json)")
            let id = try #require(lodged["id"]?.stringValue)
            let stream = try await client.send(.get, "/v1/audit/streams/\(id)", token: tokens.admin)
            let metadata = try #require(
                stream.text.split(separator: "\n").first.map { try JSONParser.parse(Array($0.utf8)) })["metadata"]
            #expect(metadata?["actor"] == "user:clerk" && metadata?["actor_name"] == "Fatou Ndiaye", "\(stream.text)")
            #expect(metadata?["role"] == "office" && metadata?["scope"] == "OFF-001")
            #expect(lodged["events"]?.arrayValue?.first?["actor"] == "user:clerk")
        }
    }

    @Test func aSessionEndsWhenLeftIdleAndAtItsLifetime() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings, configure: lowCost { $0.sessionIdle = .seconds(1) }) { client in
            try await Users.create(settings, login: "auditor", role: .auditor, scope: nil)
            let session = try #require(try await client.signIn("auditor").secret)
            #expect(try await client.send(.get, "/v1/sessions/current", token: session).status == .ok)
            // Waits, without using the session (which would keep it alive), until the database says it is idle.
            try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { database in
                try await poll(within: .seconds(20), "the session is idle for a second") {
                    let rows = try await database.query(
                        "SELECT count(*) FROM sessions WHERE last_seen_at < now() - interval '1.1 seconds'",
                        logger: TestDatabases.logger)
                    for try await count in rows.decode(Int.self) { return count == 1 }
                    return false
                }
            }
            #expect(try await client.send(.get, "/v1/sessions/current", token: session).status == .unauthorized)
            let ended = try await client.send(.get, "/v1/reference", cookie: session)
            #expect(
                ended.status == .unauthorized && ended["detail"]?.stringValue?.contains("session has ended") == true)
        }
        try await withApplication(
            settings: settings, importReference: false, configure: lowCost { $0.sessionLifetime = .seconds(2) }
        ) { client in
            let session = try #require(try await client.signIn("auditor").secret)
            // Used all the time, it still ends at its lifetime.
            try await poll(within: .seconds(20), "the session ends at its lifetime") {
                try await client.send(.get, "/v1/sessions/current", token: session).status == .unauthorized
            }
        }
    }

    @Test func failuresLockALoginAndAnUnknownLoginIsAnsweredTheSame() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let configure = lowCost { settings in
            settings.failuresBeforeDelay = 100
            settings.failuresBeforeLock = 3
        }
        try await withApplication(settings: settings, configure: configure) { client in
            try await Users.create(settings, login: "officer", role: .programme, scope: "CCT")
            for attempt in 1...3 {
                let wrong = try await client.signIn("officer", "not the password at all").answer
                let unknown = try await client.signIn("nobody", "not the password at all").answer
                #expect(wrong.status == .unauthorized, "attempt \(attempt)")
                #expect(wrong.status == unknown.status && wrong.text == unknown.text, "\(wrong.text) / \(unknown.text)")
            }
            let huge = try await client.signIn(String(repeating: "a", count: 5_000), "not the password at all").answer
            #expect(huge.status == .unauthorized, "\(huge.json)")
            // Locked: even the right password is refused, and an unknown login is locked alike.
            let locked = try await client.signIn("officer").answer
            let unknown = try await client.signIn("nobody").answer
            #expect(locked.status == .tooManyRequests && locked.headers[.retryAfter] != nil, "\(locked.json)")
            #expect(unknown.status == .tooManyRequests && locked["title"] == unknown["title"])
            #expect(try await client.signIn("OFFICER").answer.status == .tooManyRequests, "counted without case")
        }
        // Past the lock (none here: lock after 100), repeated failures slow the login down first.
        let slowing = lowCost { settings in
            settings.failuresBeforeDelay = 1
            settings.delay = .seconds(60)
        }
        try await withApplication(settings: settings, importReference: false, configure: slowing) { client in
            try await Users.create(settings, login: "clerk", role: .office, scope: "OFF-001")
            #expect(try await client.signIn("clerk", "wrong password here").answer.status == .unauthorized)
            let slowed = try await client.signIn("clerk").answer
            #expect(slowed.status == .tooManyRequests && slowed.headers[.retryAfter].flatMap { Int($0) } ?? 0 > 30)
        }
    }

    @Test func anUnknownLoginTakesAboutAsLongAsAWrongPassword() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        // A real cost, so that bcrypt dominates; no slowing or lock in the way.
        let configure = lowCost { settings in
            settings.bcryptCost = 10
            settings.failuresBeforeDelay = 1_000
            settings.failuresBeforeLock = 1_000
        }
        try await withApplication(settings: settings, configure: configure) { client in
            // Hashed at the application's cost, as its own users are.
            try await Users.create(settings, login: "known", role: .auditor, scope: nil, cost: 10)
            _ = try await client.signIn("warm-up", "wrong password here")
            var known: [Duration] = []
            var unknown: [Duration] = []
            for round in 0..<5 {
                let clock = ContinuousClock()
                known.append(
                    try await clock.measure { _ = try await client.signIn("known", "wrong password \(round)") })
                unknown.append(
                    try await clock.measure { _ = try await client.signIn("ghost\(round)", "wrong password") })
            }
            // The fastest of each: what the work itself costs, with the least of the machine's other load in it.
            let (k, u) = (known.min() ?? .zero, unknown.min() ?? .zero)
            #expect(u * 4 > k && k * 4 > u, "fastest wrong password \(k), unknown login \(u): \(known) \(unknown)")
        }
    }
}

/// Sign-out and deactivation end sessions on every node; the session cache of each node is emptied by the same
/// notification that ends revoked tokens.
@Suite(.timeLimit(.minutes(2))) struct SessionNodesTests {
    @Test func signOutAndDeactivationEndSessionsOnEveryNode() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings, configure: lowCost()) { first in
            try await withApplication(settings: settings, importReference: false, configure: lowCost()) { second in
                try await Users.create(settings, login: "coordinator", role: .coordinator, scope: "P-01")
                let session = try #require(try await first.signIn("coordinator").secret)
                let other = try #require(try await second.signIn("coordinator").secret)
                for node in [first, second] {
                    #expect(try await node.send(.get, "/v1/sessions/current", token: session).status == .ok)
                }
                let signedOut = try await first.send(.delete, "/v1/sessions/current", token: session)
                #expect(signedOut.status == .noContent && signedOut.headers[.setCookie]?.contains("Max-Age=0") == true)
                for node in [first, second] {
                    try await poll(within: .seconds(10), "the signed-out session is refused") {
                        try await node.send(.get, "/v1/sessions/current", token: session).status == .unauthorized
                    }
                }
                #expect(try await second.send(.get, "/v1/sessions/current", token: other).status == .ok)
                let tokenSignOut = try await first.send(.delete, "/v1/sessions/current", token: tokens.admin)
                #expect(tokenSignOut.status == .notFound)

                // Deactivating the user ends their other session too, and they cannot sign in again.
                let users = try await first.send(.get, "/v1/users", token: tokens.admin)
                let id = try #require(users["users"]?.arrayValue?.first?["id"]?.stringValue)
                #expect(try await first.send(.delete, "/v1/users/\(id)", token: tokens.admin).status == .ok)
                try await poll(within: .seconds(10), "the deactivated user's session is refused") {
                    try await second.send(.get, "/v1/sessions/current", token: other).status == .unauthorized
                }
                #expect(try await second.signIn("coordinator").answer.status == .unauthorized)
            }
        }
    }
}

/// `officer` on `assign` names an active user of the programme assigned; by default, the signed-in sender.
@Suite(.timeLimit(.minutes(2))) struct OfficerTests {
    @Test func theOfficerIsAnActiveUserOfTheHandlingProgramme() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings, configure: lowCost()) { client in
            try await Users.create(settings, login: "cct.officer", role: .programme, scope: "CCT", name: "Moussa Sarr")
            try await Users.create(settings, login: "pension.officer", role: .programme, scope: "PENSION")
            let gone = try await Users.create(settings, login: "cct.gone", role: .programme, scope: "CCT")
            #expect(try await client.send(.delete, "/v1/users/\(gone.id)", token: tokens.admin).status == .ok)
            let session = try #require(try await client.signIn("cct.officer").secret)

            func lodgeAndAcknowledge() async throws -> String {
                let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
                let id = try #require(lodged["id"]?.stringValue)
                let acknowledged = try await client.send(
                    .post, "/v1/complaints/\(id)/acknowledge", token: session, body: "{}")
                #expect(acknowledged.status == .ok)
                return id
            }
            let id = try await lodgeAndAcknowledge()
            for officer in ["pension.officer", "nobody", "cct.gone", "clerk"] {
                let refused = try await client.send(
                    .post, "/v1/complaints/\(id)/assign", token: tokens.programme,
                    body: json(["programme": "CCT", "officer": .string(officer)]))
                #expect(refused.status == .unprocessableContent && refused["field"] == "officer", "\(officer)")
            }
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.admin)["version"] == 2)
            let named = try await client.send(
                .post, "/v1/complaints/\(id)/assign", token: tokens.programme,
                body: json(["programme": "CCT", "officer": "CCT.Officer"]))
            #expect(named.status == .ok && named["complaint"]?["officer"] == "cct.officer", "\(named.json)")

            let other = try await lodgeAndAcknowledge()
            let byDefault = try await client.send(
                .post, "/v1/complaints/\(other)/assign", token: session, body: json(["programme": "CCT"]))
            #expect(byDefault.status == .ok && byDefault["complaint"]?["officer"] == "cct.officer")
            let viaToken = try await lodgeAndAcknowledge()
            let noOfficer = try await client.send(
                .post, "/v1/complaints/\(viaToken)/assign", token: tokens.programme, body: json(["programme": "CCT"]))
            #expect(noOfficer.status == .ok && noOfficer["complaint"]?["officer"] == nil)
        }
    }
}

/// Machines' tokens expire; people's forms get the reference data with an ETag.
@Suite(.timeLimit(.minutes(2))) struct TokenExpiryAndReferenceTests {
    @Test func anExpiredTokenIsRefused() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withApplication(settings: settings) { client in
            let (principal, secret) = try await PostgresClient.withRunning(
                settings.owner, logger: TestDatabases.logger
            ) {
                try await TokenStore(client: $0, logger: TestDatabases.logger).create(
                    role: .auditor, scope: nil, label: "nightly export", owner: "m-and-e-warehouse",
                    expiresIn: .seconds(5))
            }
            #expect(principal.owner == "m-and-e-warehouse")
            let expiry = try #require(principal.expiresAt)
            #expect(expiry.timeIntervalSinceNow <= 5.5)
            // Used (and so cached) before it expires, refused once it has: the cache keeps no token past its expiry.
            let current = try await client.send(.get, "/v1/sessions/current", token: secret)
            #expect(current.status == .ok && current["owner"] == "m-and-e-warehouse", "\(current.json)")
            #expect(current["label"] == "nightly export" && current["kind"] == "token")
            try await poll(within: .seconds(30), "the expired token is refused") {
                try await client.send(.get, "/v1/audit/events?limit=1", token: secret).status == .unauthorized
            }
            #expect(Date() >= expiry)
        }
    }

    @Test func referenceDataForFormsWithAStrongETag() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            #expect(try await client.send(.get, "/v1/reference", token: nil).status == .unauthorized)
            let answer = try await client.send(.get, "/v1/reference", token: tokens.office)
            #expect(answer.status == .ok)
            let etag = try #require(answer.headers[.eTag])
            #expect(etag.hasPrefix("\"") && !etag.hasPrefix("W/"))
            #expect(answer.headers[.cacheControl]?.hasPrefix("private, max-age=") == true)
            let health = answer["programmes"]?.arrayValue?.first { $0["code"] == "HEALTH" }
            #expect(health?["service_types"]?.stringArray?.contains("NUTRITION") == true, "\(answer.json)")
            let gbv = answer["service_types"]?.arrayValue?.first { $0["code"] == "GBV-SUPPORT" }
            #expect(gbv?["programme"] == .null)
            #expect(answer["channels"]?.stringArray?.contains("walk_in") == true)
            #expect(answer["categories"]?.arrayValue?.contains { $0["code"] == "sexual_exploitation_abuse" } == true)
            #expect(answer["areas"]?.arrayValue?.first?["children"]?.arrayValue?.isEmpty == false)
            #expect(answer["offices"]?.arrayValue?.contains { $0["code"] == "OFF-001" } == true)

            var conditional = HTTPFields()
            conditional[.ifNoneMatch] = etag
            let unchanged = try await client.send(.get, "/v1/reference", token: tokens.auditor, headers: conditional)
            #expect(unchanged.status == .notModified && unchanged.text.isEmpty && unchanged.headers[.eTag] == etag)
            conditional[.ifNoneMatch] = "\"something-else\""
            #expect(
                try await client.send(.get, "/v1/reference", token: tokens.auditor, headers: conditional).status == .ok)
        }
    }
}

/// The routes of people (users, sessions, reference data) answer only with statuses `docs/openapi.yaml` lists.
@Suite(.timeLimit(.minutes(2))) struct PeopleDocumentTests {
    @Test func theRoutesOfPeopleAnswerWithDocumentedStatuses() async throws {
        let document = try OpenAPIDocumentTests.document()
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings, configure: lowCost { $0.failuresBeforeLock = 2 }) { client in
            try await Users.create(settings, login: "clerk", role: .office, scope: "OFF-001")
            var seen: [String: Set<Int>] = [:]
            func check(_ method: HTTPRequest.Method, _ template: String, _ answer: Answer) {
                let listed = document.statuses(template, method.rawValue.lowercased())
                #expect(listed.contains(answer.status.code), "\(method) \(template): \(answer.status.code) not listed")
                seen["\(method) \(template)", default: []].insert(answer.status.code)
            }
            let signIn = json(["login": "clerk", "password": .string(Users.password)])
            let session = try await client.send(.post, "/v1/sessions", token: nil, body: signIn)
            check(.post, "/v1/sessions", session)
            let secret = try #require(session["token"]?.stringValue)
            check(.post, "/v1/sessions", try await client.send(.post, "/v1/sessions", token: nil, body: "{}"))
            for _ in 0..<3 {
                check(
                    .post, "/v1/sessions",
                    try await client.signIn("ghost", "wrong password here").answer)
            }
            check(.get, "/v1/sessions/current", try await client.send(.get, "/v1/sessions/current", token: secret))
            check(.get, "/v1/sessions/current", try await client.send(.get, "/v1/sessions/current", token: nil))
            check(
                .delete, "/v1/sessions/current",
                try await client.send(.delete, "/v1/sessions/current", token: tokens.admin))
            check(
                .delete, "/v1/sessions/current", try await client.send(.delete, "/v1/sessions/current", token: secret))

            let user = json(["login": "x1", "name": "X", "role": "auditor", "password": "long enough pw"])
            let created = try await client.send(.post, "/v1/users", token: tokens.admin, body: user)
            check(.post, "/v1/users", created)
            check(.post, "/v1/users", try await client.send(.post, "/v1/users", token: tokens.admin, body: user))
            check(.post, "/v1/users", try await client.send(.post, "/v1/users", token: tokens.office, body: user))
            check(.get, "/v1/users", try await client.send(.get, "/v1/users", token: tokens.admin))
            let id = try #require(created["id"]?.stringValue)
            let item = "/v1/users/{id}"
            check(.get, item, try await client.send(.get, "/v1/users/\(id)", token: tokens.admin))
            check(.get, item, try await client.send(.get, "/v1/users/\(UUID())", token: tokens.admin))
            check(
                .patch, item,
                try await client.send(.patch, "/v1/users/\(id)", token: tokens.admin, body: #"{"scope":"X"}"#))
            check(
                .patch, item,
                try await client.send(.patch, "/v1/users/\(id)", token: tokens.admin, body: #"{"name":"Y"}"#))
            check(.delete, item, try await client.send(.delete, "/v1/users/\(id)", token: tokens.admin))
            let reference = try await client.send(.get, "/v1/reference", token: tokens.office)
            check(.get, "/v1/reference", reference)
            var conditional = HTTPFields()
            conditional[.ifNoneMatch] = reference.headers[.eTag] ?? ""
            check(
                .get, "/v1/reference",
                try await client.send(.get, "/v1/reference", token: tokens.office, headers: conditional))
            #expect(seen["POST /v1/sessions"] == [201, 400, 401, 429], "\(seen)")
            #expect(seen["POST /v1/users"] == [201, 403, 409], "\(seen)")
            #expect(seen["GET /v1/reference"] == [200, 304], "\(seen)")
        }
    }
}
