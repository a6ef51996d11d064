import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `/metrics` read as Prometheus reads it: over HTTP, parsed line by line.
@Suite(.timeLimit(.minutes(2))) struct MetricsTests {
    @Test func everyFamilyIsExposedAndRequestsAndAppendsMoveTheirCounters() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings, trackingLimit: 1) { client in
            let before = try await Scrape.read(client)
            for family in [
                "concord_build_info", "concord_http_requests_in_flight", "concord_append_batches_total",
                "concord_appended_events_total", "concord_append_batch_failures_total",
                "concord_append_batch_requests", "concord_append_batch_events",
                "concord_append_commit_duration_seconds",
                "concord_projection_events_behind", "concord_projection_seconds_behind",
                "concord_projection_checkpoint",
                "concord_log_head_position", "concord_database_up", "concord_database_connections",
                "concord_database_max_connections", "concord_overdue_escalations_total",
                "concord_tracking_rate_limited_total",
            ] {
                #expect(before.types[family] != nil, "no family \(family)")
            }
            #expect(before.types["concord_append_commit_duration_seconds"] == "histogram")
            #expect(before.value("concord_build_info", ["version": BuildInfo.version]) == 1)
            #expect(before.value("concord_database_up") == 1)
            #expect(before.value("concord_database_max_connections") ?? 0 > 0)

            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            #expect(lodged.status == .created)
            let id = try #require(lodged["id"]?.stringValue)
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office).status == .ok)
            #expect(try await client.send(.get, "/v1/track/\(id)", token: nil).status == .ok)
            #expect(try await client.send(.get, "/v1/track/\(id)", token: nil).status == .tooManyRequests)
            #expect(try await client.send(.get, "/no/such/\(id)", token: nil).status == .notFound)

            let after = try await Scrape.read(client)
            let lodge = ["route": "/v1/complaints", "method": "POST", "status": "201"]
            #expect(after.value("concord_http_requests_total", lodge) == 1)
            #expect(after.value("concord_http_request_duration_seconds_count", lodge) == 1)
            let show = ["route": "/v1/complaints/{id}", "method": "GET", "status": "200"]
            #expect(after.value("concord_http_requests_total", show) == 1)
            let unmatched = ["route": "unmatched", "method": "GET", "status": "404"]
            #expect(after.value("concord_http_requests_total", unmatched) == 1)
            #expect(after.value("concord_tracking_rate_limited_total") == 1)
            // No label carries a tracking code: routes are templates.
            #expect(!after.samples.contains { $0.labels.values.contains { $0.contains(id) } })

            let appended = after.increase("concord_appended_events_total", since: before)
            #expect(appended >= 1, "the lodge appended at least its ComplaintLodged")
            #expect(after.increase("concord_append_batches_total", since: before) >= 1)
            #expect(after.increase("concord_append_commit_duration_seconds_count", since: before) >= 1)
            #expect(after.increase("concord_append_batch_requests_count", since: before) >= 1)
            #expect(after.value("concord_log_head_position") ?? 0 >= 1)
        }
    }

    @Test func eachApplicationCountsInItsOwnRegistry() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let (first, second) = (ConcordMetrics(), ConcordMetrics())
        try await withApplication(settings: settings, metrics: first) { client in
            let answer = try await client.send(.get, "/healthz", token: nil)
            #expect(answer.status == .ok)
        }
        try await withApplication(settings: settings, metrics: second) { client in
            let scrape = try await Scrape.read(client)
            #expect(scrape.value("concord_http_requests_total", ["route": "/healthz"]) == nil)
        }
        #expect(first.registry.emitToString().contains(#"route="/healthz""#))
    }
}

/// One scrape of `/metrics`, parsed: each family's type and every sample.
struct Scrape {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var types: [String: String] = [:]
    var samples: [Sample] = []

    static func read(_ client: any TestClientProtocol) async throws -> Scrape {
        try await client.execute(uri: "/metrics", method: .get) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            return try Scrape(text: String(buffer: response.body))
        }
    }

    init(text: String) throws {
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 4, "\(line)")
                self.types[String(parts[2])] = String(parts[3])
            } else if !line.hasPrefix("#") {
                self.samples.append(try Self.sample(line))
            }
        }
    }

    /// `name{a="x",b="y"} 1.5` or `name 1.5` (label values here hold no quotes or commas).
    static func sample(_ line: String) throws -> Sample {
        let space = try #require(line.lastIndex(of: " "), "\(line)")
        let value = try #require(Double(line[line.index(after: space)...]), "\(line)")
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else {
            return Sample(name: String(series), labels: [:], value: value)
        }
        var labels: [String: String] = [:]
        for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            try #require(parts.count == 2 && parts[1].hasPrefix("\"") && parts[1].hasSuffix("\""), "\(line)")
            labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
        }
        return Sample(name: String(series[..<brace]), labels: labels, value: value)
    }

    /// The sum of the samples named `name` whose labels include `labels`; nil when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = self.samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    func increase(_ name: String, since earlier: Scrape) -> Double {
        (self.value(name) ?? 0) - (earlier.value(name) ?? 0)
    }
}
