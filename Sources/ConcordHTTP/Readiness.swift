import ConcordProjections
import ConcordStore
import Foundation
import Hummingbird
import PostgresNIO

/// `/readyz`: whether this process can serve truthfully now. 200 with `ready` and the projection's lag; otherwise 503
/// (problem+json, `Retry-After`) saying why: the database does not answer, its migrations are not current, or the
/// projection is stalled (an appended event has waited for it longer than `stallThreshold`, so every queue, loop
/// list and indicator is that stale).
struct Readiness: Sendable {
    let context: AppContext
    let queries: ProjectionQueries
    /// Each check's wait for the database: a probe must answer quickly, above all when the database does not.
    let deadline: Duration = .seconds(2)

    func response() async -> Response {
        do {
            _ = try await self.context.client.query(
                "SELECT 1", acquiringWithin: self.deadline, logger: self.queries.logger)
        } catch {
            return Self.notReady("the database is unreachable (\(safeDescription(of: error)))")
        }
        let (migrator, client) = (self.context.migrator, self.context.client)
        let current = (try? await withDatabaseDeadline(self.deadline) { await migrator.isCurrent(client) }) ?? false
        guard current else {
            return Self.notReady("the database is unreachable or its migrations are not current")
        }
        let queries = self.queries
        // No lag (the projection tables are being swapped by a rebuild): ready, without the lag line.
        let lag = try? await withDatabaseDeadline(self.deadline) { try await queries.lag() }
        if let lag, let stall = self.stall(lag) { return Self.notReady(stall) }
        let text =
            "ready\n"
            + (lag.map {
                "projection \($0.name): position \($0.checkpoint) of \($0.head), \($0.eventsBehind) events and "
                    + "\(String(format: "%.3f", $0.secondsBehind)) s behind\n"
            } ?? "") + (await self.replicaLine() ?? "")
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The read replica's state, for the operator: it does not decide readiness (the primary serves every command,
    /// and audit reads answer 503 themselves while the replica is away). Asked briefly: a probe's timeout (often 1 s)
    /// must not be spent waiting on a replica that is gone.
    func replicaLine() async -> String? {
        guard let replica = self.context.readReplica else { return nil }
        do {
            let status = try await replica.status(within: .milliseconds(250))
            return "read replica: position \(status.position), \(String(format: "%.3f", status.lagSeconds)) s behind\n"
        } catch {
            return
                "read replica: unreachable (\(safeDescription(of: error))); audit reads answer 503 until it is back\n"
        }
    }

    /// Why the projection counts as stalled, or nil: the oldest event it has not applied has waited longer than the
    /// threshold (a projection that moves applies it within a fraction of a second).
    func stall(_ lag: ProjectionLag) -> String? {
        let threshold =
            Double(self.context.projectionStallThreshold.components.seconds)
            + Double(self.context.projectionStallThreshold.components.attoseconds) / 1e18
        guard lag.eventsBehind > 0, lag.secondsBehind > threshold else { return nil }
        return "projection \(lag.name) is stalled: it is at position \(lag.checkpoint) of \(lag.head), and the "
            + "oldest event it has not applied has waited \(String(format: "%.0f", lag.secondsBehind)) s "
            + "(more than \(String(format: "%g", threshold)) s)"
    }

    static func notReady(_ detail: String) -> Response {
        Problem(status: .serviceUnavailable, title: "Not ready", detail: detail).response(retryAfter: 5)
    }
}
