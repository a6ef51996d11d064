import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing

/// The command pipeline under races, over real HTTP and a real PostgreSQL: racing copies of one request, a retry
/// after the command changed who may read the case, and checks made again when an append meets a concurrent change.
@Suite struct CommandPipelineTests {
    static func key(_ value: String) throws -> HTTPFields {
        var fields = HTTPFields()
        fields.append(HTTPField(name: try #require(HTTPField.Name("Idempotency-Key")), value: value))
        return fields
    }

    /// Rows in `subject_keys`: one per data subject whose creating event was stored, no more.
    static func dataKeyCount(_ settings: DatabaseSettings) async throws -> Int {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let rows = try await client.query("SELECT count(*)::bigint FROM subject_keys")
            var count: Int64 = -1
            for try await (value) in rows.decode(Int64.self) { count = value }
            return Int(count)
        }
    }

    @Test func racingCopiesOfACreationGetOneAnswerAndLeaveNoStrayDataKey() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let keysBefore = try await Self.dataKeyCount(settings)
            for round in 0..<12 {
                let (path, token, body) =
                    round.isMultiple(of: 2)
                    ? ("/v1/complaints", tokens.office, Body.complaint)
                    : ("/v1/referrals", tokens.programme, Body.referral)
                let headers = try Self.key("race-\(round)")
                async let first = client.sendApart(.post, path, token: token, body: body, headers: headers)
                async let second = client.sendApart(.post, path, token: token, body: body, headers: headers)
                let answers = try await [first, second]
                #expect(answers.map(\.status) == [.created, .created], "round \(round): \(answers.map(\.json))")
                #expect(answers[0].json == answers[1].json, "round \(round)")
                let id = try #require(answers[0]["id"]?.stringValue)
                let shown = try await client.send(.get, "\(path)/\(id)", token: token)
                #expect(shown.status == .ok, "round \(round): the answered case exists")
            }
            let streams = try await withStore(settings: settings) { store in
                try await store.readAll(after: 0, limit: 10_000).filter {
                    ["complaint", "referral"].contains($0.stream.type)
                }.count
            }
            #expect(streams == 12)
            #expect(try await Self.dataKeyCount(settings) - keysBefore == 12)
        }
    }

    @Test func aRetryAfterATransferGetsTheOriginalAnswer() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            for (command, body) in [("acknowledge", "{}"), ("assign", #"{"programme":"CCT"}"#)] {
                let answer = try await client.send(
                    .post, "/v1/complaints/\(id)/\(command)", token: tokens.programme, body: body)
                #expect(answer.status == .ok)
            }
            let transfer = #"{"to_programme":"PENSION","reason":"The complainant is a pensioner."}"#
            let headers = try Self.key("transfer-1")
            let first = try await client.send(
                .post, "/v1/complaints/\(id)/transfer", token: tokens.programme, body: transfer, headers: headers)
            #expect(first.status == .ok, "\(first.json)")
            // CCT can no longer read the complaint, yet its retry is answered as the first time.
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.programme).status == .notFound)
            let retry = try await client.send(
                .post, "/v1/complaints/\(id)/transfer", token: tokens.programme, body: transfer, headers: headers)
            #expect(retry.status == .ok, "\(retry.json)")
            #expect(retry.json == first.json)
            // Another token with the same key, or the same key on another path, never gets the first answer.
            let stranger = try await client.send(
                .post, "/v1/complaints/\(id)/transfer", token: tokens.otherProgramme, body: transfer, headers: headers)
            #expect(stranger.status == .unprocessableContent)
            #expect(stranger["field"] == "Idempotency-Key")
            let elsewhere = try await client.send(
                .post, "/v1/complaints/\(id)/add_note", token: tokens.programme, body: #"{"text":"x"}"#,
                headers: headers)
            #expect(elsewhere.status == .unprocessableContent)
            #expect(elsewhere["field"] == "Idempotency-Key")
            // The transfer took effect once.
            let shown = try await client.send(.get, "/v1/complaints/\(id)", token: tokens.admin)
            #expect(shown["version"] == 4)
        }
    }

    /// A programme's `resolve` racing its own `transfer` of the complaint to another programme: whichever lands
    /// second is decided on the state the first left, access checked again, so no resolution by CCT follows a
    /// transfer away from CCT.
    @Test func checksAreMadeAgainWhenAnAppendMeetsAConcurrentChange() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            var ids: [String] = []
            for _ in 0..<16 {
                let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
                let id = try #require(lodged["id"]?.stringValue)
                for (command, body) in [("acknowledge", "{}"), ("assign", #"{"programme":"CCT"}"#)] {
                    let answer = try await client.send(
                        .post, "/v1/complaints/\(id)/\(command)", token: tokens.programme, body: body)
                    #expect(answer.status == .ok)
                }
                ids.append(id)
            }
            let transfer = #"{"to_programme":"PENSION","reason":"Belongs to the pension."}"#
            let resolve = #"{"outcome":"upheld","actions_taken":"Paid."}"#
            var outcomes: [[HTTPResponse.Status]] = []
            for id in ids {
                async let moved = client.sendApart(
                    .post, "/v1/complaints/\(id)/transfer", token: tokens.programme, body: transfer)
                async let resolved = client.sendApart(
                    .post, "/v1/complaints/\(id)/resolve", token: tokens.programme, body: resolve)
                outcomes.append(try await [moved.status, resolved.status])
            }
            let events = try await withStore(settings: settings) { store in
                try await store.readAll(after: 0, limit: 10_000).filter { $0.stream.type == "complaint" }
            }
            for id in ids {
                let types = events.filter { $0.stream.id == id }.map(\.type)
                if let transferred = types.firstIndex(of: "ComplaintTransferred"),
                    let resolved = types.firstIndex(of: "ComplaintResolved")
                {
                    #expect(resolved < transferred, "\(id): resolved by CCT after CCT transferred it: \(types)")
                }
            }
            // Every pair ended with exactly the answers the order of the log explains: one of the two may lose.
            for pair in outcomes {
                #expect(pair.contains(.ok), "\(pair)")
                #expect(pair.allSatisfy { [.ok, .notFound, .conflict].contains($0) }, "\(pair)")
            }
        }
    }

    @Test func aMalformedIfMatchIsRefusedAndAStarMatchesAnyVersion() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            let note = #"{"text":"Called back."}"#
            let path = "/v1/complaints/\(id)/add_note"
            for bad in ["\"abc\"", "W/", "\"3", "-1", "3 4", "\"\""] {
                let answer = try await client.send(
                    .post, path, token: tokens.office, body: note, headers: [.ifMatch: bad])
                #expect(answer.status == .badRequest, "If-Match: \(bad)")
                #expect(answer["field"] == "If-Match")
            }
            for (good, version) in [("\"1\"", 2), ("2", 3), ("W/\"3\"", 4), ("*", 5)] {
                let answer = try await client.send(
                    .post, path, token: tokens.office, body: note, headers: [.ifMatch: good])
                #expect(answer.status == .ok, "If-Match: \(good): \(answer.json)")
                #expect(answer["version"] == .integer(Int64(version)))
            }
            let stale = try await client.send(
                .post, path, token: tokens.office, body: note, headers: [.ifMatch: "\"1\""])
            #expect(stale.status == .preconditionFailed)
        }
    }
}
