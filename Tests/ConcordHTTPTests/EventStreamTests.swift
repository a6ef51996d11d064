import AsyncHTTPClient
import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Testing

/// `GET /v1/events/stream`: server-sent events, read over a real connection.
@Suite struct EventStreamTests {
    /// One server-sent event: its `id:` and its data's subject.
    struct Frame: Equatable {
        var id: Int64
        var subject: String
    }

    /// Reads frames from the stream until `count` have come (or the deadline passes), then drops the connection.
    static func read(
        port: Int, token: String, lastEventID: Int64?, count: Int, within deadline: Duration = .seconds(20)
    ) async throws -> [Frame] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/events/stream")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: "\(lastEventID)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "content-type") == "text/event-stream")
        var frames: [Frame] = []
        var text = ""
        let end = ContinuousClock.now + deadline
        for try await buffer in response.body {
            text += String(buffer: buffer)
            while let range = text.range(of: "\n\n") {
                let block = String(text[..<range.lowerBound])
                text.removeSubrange(..<range.upperBound)
                if let frame = Self.frame(block) { frames.append(frame) }
            }
            if frames.count >= count || ContinuousClock.now > end { break }
        }
        return frames
    }

    static func frame(_ block: String) -> Frame? {
        var id: Int64?
        var data: String?
        for line in block.split(separator: "\n") {
            if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
            if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
        }
        guard let id, let data, let json = try? JSONParser.parse(Array(data.utf8)),
            let subject = json["subject"]?.stringValue
        else { return nil }
        return Frame(id: id, subject: subject)
    }

    @Test func theStreamResumesWithLastEventIDWithoutGapsOrRepeats() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let port = try #require(client.port)
            let pension = Body.complaint.replacingOccurrences(of: "\"CCT\"", with: "\"PENSION\"")
            var lodged: [String] = []
            for index in 0..<5 {
                lodged.append(try await WebhookTests.lodge(client, tokens))
                // Another programme's complaints between them: never in CCT's stream.
                if index % 2 == 0 { _ = try await WebhookTests.lodge(client, tokens, body: pension) }
            }
            let first = try await Self.read(port: port, token: tokens.programme, lastEventID: 0, count: 3)
            #expect(first.map(\.subject) == Array(lodged.prefix(3)))
            let rest = try await Self.read(port: port, token: tokens.programme, lastEventID: first.last?.id, count: 2)
            #expect(rest.map(\.subject) == Array(lodged.suffix(2)))
            let ids = (first + rest).map(\.id)
            #expect(ids == ids.sorted() && Set(ids).count == 5)
            // Live: an event appended while the stream is open arrives.
            let live = Task {
                try await Self.read(port: port, token: tokens.programme, lastEventID: ids.last, count: 1)
            }
            let next = try await WebhookTests.lodge(client, tokens)
            #expect(try await live.value.map(\.subject) == [next])
        }
    }

    @Test func anIdleStreamSendsHeartbeats() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(
            settings: settings, configure: { $0.webhooks.eventStreamHeartbeat = .milliseconds(300) }
        ) { client in
            let port = try #require(client.port)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/events/stream")
            request.headers.add(name: "Authorization", value: "Bearer \(tokens.coordinator)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
            var text = ""
            for try await buffer in response.body {
                text += String(buffer: buffer)
                if text.components(separatedBy: ": heartbeat\n\n").count > 2 { break }
            }
            #expect(text.hasPrefix("retry: 2000\n\n") && !text.contains("data:"), "\(text)")
        }
    }

    @Test func aBadLastEventIDIsRefusedNamingTheHeader() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            var headers = HTTPFields()
            headers[HTTPField.Name("Last-Event-ID")!] = "yesterday"
            let answer = try await client.send(.get, "/v1/events/stream", token: tokens.programme, headers: headers)
            #expect(answer.status == .badRequest && answer["field"] == "Last-Event-ID", "\(answer.json)")
            let anonymous = try await client.send(.get, "/v1/events/stream", token: nil)
            #expect(anonymous.status == .unauthorized)
        }
    }

    /// SIGTERM with a stream open: `concord serve` ends the stream and exits, without waiting for the client.
    @Test func shutdownEndsOpenStreams() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await prepareForServing(settings)
        let tokens = try await Tokens.make(settings)
        let serve = try await ServeNode.start(settings)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(serve.port)/v1/events/stream?after=0")
        request.headers.add(name: "Authorization", value: "Bearer \(tokens.programme)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        #expect(response.status == .ok)
        let reading = Task {
            var received = 0
            for try await buffer in response.body { received += buffer.readableBytes }
            return received
        }
        let started = ContinuousClock.now
        serve.signal(SIGTERM)
        let status = await serve.waitForExit(within: .seconds(15))
        #expect(status == 0, "\(serve.log)")
        #expect(ContinuousClock.now - started < .seconds(10))
        // The stream ended cleanly: its body finished rather than being cut.
        #expect(try await reading.value > 0)
    }
}
