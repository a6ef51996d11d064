import ConcordStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// `run(within:)` must not leave its caller on a connection the server has closed: PostgresNIO may never complete a
/// query on it, and the projection's leader waited out its whole step deadline on a dead primary that way.
@Suite struct ConnectionDeadlineTests {
    @Test func aConnectionClosedByTheServerEndsTheWaitAtOnce() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let pid = try await client.withConnection(acquiringWithin: .seconds(10)) { connection in
                let started = Stuck()
                async let outcome: Result<Void, any Error> = {
                    do {
                        // Stands for a query PostgresNIO never answers: nothing but the connection's closing ends it.
                        try await connection.run(within: .seconds(600)) { _ in await started.hang() }
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }()
                let pid =
                    try await connection.query("SELECT pg_backend_pid()", logger: TestDatabases.logger)
                    .collect().first?.decode(Int32.self) ?? 0
                await started.waitUntilHanging()
                // The server ends the session, as a dying or demoted primary does.
                _ = try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { other in
                    try await other.execute("SELECT pg_terminate_backend(\(pid))", logger: TestDatabases.logger)
                }
                let result = await outcome
                await started.release()
                guard case .failure(let error) = result else {
                    Issue.record("the body never finished, yet run(within:) returned a result")
                    return pid
                }
                #expect(
                    "\(error)" == "the connection closed",
                    "ended by the connection's closing, not by the 600 s deadline: \(error)")
                return pid
            }
            #expect(pid > 0)
        }
    }
}

/// A body that does not return until released, and a way to know it has started.
private actor Stuck {
    private var hanging: CheckedContinuation<Void, Never>?
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func hang() async {
        await withCheckedContinuation { continuation in
            self.hanging = continuation
            for waiter in self.waiters { waiter.resume() }
            self.waiters = []
        }
    }

    func waitUntilHanging() async {
        if self.hanging != nil { return }
        await withCheckedContinuation { self.waiters.append($0) }
    }

    /// Lets the body end, after the test: `run(within:)` has long stopped waiting for it.
    func release() {
        self.hanging?.resume()
        self.hanging = nil
    }
}
