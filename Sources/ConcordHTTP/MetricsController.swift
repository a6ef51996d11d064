import ConcordProjections
import Hummingbird
import Logging
import PostgresNIO
import Prometheus

/// `/metrics`: the application's registry in the Prometheus text format. The figures that live in the database
/// (projection lag, the service role's connections) are read at scrape time, under a short deadline: a database
/// that does not answer sets `concord_database_up` to 0 and leaves the others as last read, and the scrape still
/// answers with everything the process counted itself.
struct MetricsController: Sendable {
    let metrics: ConcordMetrics
    let queries: ProjectionQueries

    func addRoutes(to router: Router<ConcordRequestContext>) {
        router.get("metrics") { _, _ -> Response in await self.scrape() }
    }

    func scrape() async -> Response {
        let up = await self.readDatabaseFigures()
        self.gauge("database_up", help: "1 when the database answered this scrape's queries, else 0.").set(
            to: up ? 1 : 0)
        var bytes: [UInt8] = []
        self.metrics.registry.emit(into: &bytes)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Sets the projection and connection gauges; false when the database did not answer in time.
    private func readDatabaseFigures() async -> Bool {
        let queries = self.queries
        do {
            let (lag, connections) = try await withDatabaseDeadline(.seconds(2)) {
                (try await queries.lag(), try await Self.connections(queries.client, logger: queries.logger))
            }
            self.record(lag)
            self.record(connections)
            return true
        } catch {
            return false
        }
    }

    private func record(_ lag: ProjectionLag) {
        let labels = [("projection", lag.name)]
        self.gauge("projection_events_behind", help: "Events in the log not yet applied by the projection.", labels)
            .set(Double(lag.eventsBehind))
        self.gauge(
            "projection_seconds_behind", help: "Age of the oldest event the projection has not applied.", labels
        ).set(lag.secondsBehind)
        self.gauge("projection_checkpoint", help: "Position the projection has applied the log up to.", labels)
            .set(Double(lag.checkpoint))
        self.gauge("log_head_position", help: "The last position of the event log.").set(Double(lag.head))
    }

    /// PostgresNIO 1.33 keeps its pool's figures to itself, so these are the database's view: the connections of
    /// the service role to this database (every node's), by state, and the server's limit.
    private func record(_ connections: DatabaseConnections) {
        for state in DatabaseConnections.states {
            self.gauge(
                "database_connections", help: "Connections of the service role to its database, by state.",
                [("state", state)]
            ).set(Double(connections.byState[state] ?? 0))
        }
        self.gauge("database_max_connections", help: "The server's max_connections setting.")
            .set(Double(connections.maximum))
    }

    private func gauge(_ name: String, help: String, _ labels: [(String, String)] = []) -> Gauge {
        self.metrics.registry.makeGauge(descriptor: ConcordMetrics.name(name, help: help), labels: labels)
    }

    static func connections(_ client: PostgresClient, logger: Logger) async throws -> DatabaseConnections {
        let rows = try await client.query(
            """
            SELECT coalesce(state, 'unknown'), count(*)::bigint, current_setting('max_connections')::bigint
            FROM pg_stat_activity WHERE usename = current_user AND datname = current_database() GROUP BY 1
            """, logger: logger)
        var figures = DatabaseConnections()
        for try await (state, count, maximum) in rows.decode((String, Int64, Int64).self) {
            figures.byState[state] = count
            figures.maximum = maximum
        }
        return figures
    }
}

/// The service role's connections as `pg_stat_activity` shows them.
struct DatabaseConnections: Sendable {
    /// Every state is reported, 0 when absent, so that a series does not vanish when its count drops to nothing.
    static let states = ["active", "idle", "idle in transaction", "idle in transaction (aborted)", "unknown"]
    var byState: [String: Int64] = [:]
    var maximum: Int64 = 0
}
