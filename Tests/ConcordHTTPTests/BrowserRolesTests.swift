import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// The coordinator's, the M&E officer's and the admin's pages in a real headless Chromium:
/// `scripts/browser_roles_test.py` drives `concord serve` (a child process, on a fresh database with the demo
/// reference data, the demo users and a few complaints) and saves `roles-*.png`, at desktop width and at 360 px,
/// under `.concord/screenshots/roles/` (apart from BrowserTests', which may run at the same time). Like
/// BrowserTests, a missing browser fails the test; it is never skipped.
@Suite(.timeLimit(.minutes(3))) struct BrowserRolesTests {
    @Test func theCoordinatorTheAuditorAndTheAdminInTheBrowser() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        let file = BrowserTests.projectDirectory.appendingPathComponent("deploy/demo-users.json")
        for user in try JSONDecoder().decode(BrowserTests.DemoUsers.self, from: Data(contentsOf: file)).users {
            let role = try #require(Role(rawValue: user.role))
            try await Users.create(
                settings, login: user.login, role: role, scope: user.scope, focalPoint: user.focal_point ?? false,
                name: user.name, password: user.password)
        }
        let office = try await Tokens.create(settings, role: .office, scope: "OFF-001")
        let serve = try ServeProcess(environment: ServeProcess.environment(settings))
        try await serve.waitUntilListening()
        // Something to chart and to list: complaints in two districts of the coordinator's province.
        for area in ["D-01", "D-02", "C-01-01"] {
            let body = Body.complaint.replacingOccurrences(of: #""area":"D-01""#, with: #""area":"\#(area)""#)
            let connection = try RawConnection(port: serve.port)
            defer { connection.close() }
            try connection.send(
                "POST /v1/complaints HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(office)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                    + body)
            let answer = await connection.answer()
            #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(300))")
        }
        let script = BrowserTests.projectDirectory.appendingPathComponent("scripts/browser_roles_test.py").path
        let shots = BrowserTests.projectDirectory.appendingPathComponent(".concord/screenshots/roles").path
        let (status, output) = try await runProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, "http://127.0.0.1:\(serve.port)", shots],
            environment: ProcessInfo.processInfo.environment)
        // The pages, their screenshots and their sizes, in the test log.
        print(output)
        #expect(status == 0, "the browser roles test failed:\n\(output)\nserve:\n\(serve.output)")
        #expect(output.contains("browser roles test passed"), "\(output)")
        serve.signal(SIGTERM)
        _ = await serve.exitStatus()
    }
}
