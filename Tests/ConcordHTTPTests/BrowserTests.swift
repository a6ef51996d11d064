import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// The web workspace in a real headless Chromium: `scripts/browser_test.py` drives `concord serve` (a child
/// process, on a fresh database with the demo reference data and the demo users) through a complaint's whole
/// loop and a referral's through to its acknowledged counter-referral feedback, screenshots under
/// `.concord/screenshots/`. `make test` installs the browser first
/// (`scripts/ensure-browser.sh`); a missing browser fails this test, it never skips it.
// Two journeys (a complaint's, a referral's) in a real browser: five minutes leaves room on a loaded machine.
@Suite(.timeLimit(.minutes(5))) struct BrowserTests {
    struct DemoUsers: Decodable {
        struct User: Decodable {
            var login: String
            var name: String
            var role: String
            var scope: String?
            var focal_point: Bool?
            var password: String
        }
        var users: [User]
    }

    static let projectDirectory = demoReference.deletingLastPathComponent().deletingLastPathComponent()

    @Test func aComplaintsWholeLoopInTheBrowser() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        let file = Self.projectDirectory.appendingPathComponent("deploy/demo-users.json")
        for user in try JSONDecoder().decode(DemoUsers.self, from: Data(contentsOf: file)).users {
            let role = try #require(Role(rawValue: user.role))
            try await Users.create(
                settings, login: user.login, role: role, scope: user.scope, focalPoint: user.focal_point ?? false,
                name: user.name, password: user.password)
        }
        let serve = try ServeProcess(environment: ServeProcess.environment(settings))
        try await serve.waitUntilListening()
        let script = Self.projectDirectory.appendingPathComponent("scripts/browser_test.py").path
        let shots = Self.projectDirectory.appendingPathComponent(".concord/screenshots").path
        let (status, output) = try await runProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, "http://127.0.0.1:\(serve.port)", shots],
            environment: ProcessInfo.processInfo.environment)
        #expect(status == 0, "the browser test failed:\n\(output)\nserve:\n\(serve.output)")
        #expect(output.contains("browser test passed"), "\(output)")
        // The pages visited, their screenshots and the size of each first load, for the record.
        print(
            output.split(separator: "\n").filter { $0.hasPrefix("screenshot") || $0.contains("passed") }
                .joined(separator: "\n"))
        serve.signal(SIGTERM)
        _ = await serve.exitStatus()
    }
}
