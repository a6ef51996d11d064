import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Personal data is sealed in the log and erasable: after erasure every view shows the fields as erased, the stored
/// bytes are unchanged and the log still verifies.
@Suite(.timeLimit(.minutes(2))) struct SubjectAPITests {
    @Test func detailsAreSealedInTheLogAndErasureHidesThemEverywhere() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let lodged = try await client.send(.post, "/v1/complaints", token: tokens.office, body: Body.complaint)
            let id = try #require(lodged["id"]?.stringValue)
            #expect(lodged["complainant"]?["name"] == "Amina Diallo")
            #expect(lodged["complainant"]?["subject"] == .string(id))
            let referral = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            let referralID = try #require(referral["id"]?.stringValue)
            #expect(referral["person"]?["reference"] == "HH-42")

            // An appeal opened from the complaint seals the same person under the complaint's subject.
            for (token, command, body) in [
                (tokens.programme, "acknowledge", "{}"), (tokens.programme, "assign", #"{"programme":"CCT"}"#),
                (tokens.programme, "resolve", #"{"outcome":"not_upheld","actions_taken":"Checked the records."}"#),
                (tokens.office, "notify_complainant", #"{"method":"sms"}"#),
                (tokens.office, "close", #"{"satisfaction":"not_satisfied"}"#),
                (tokens.office, "reopen", #"{"reason":"Still not paid."}"#),
            ] {
                let answer = try await client.send(.post, "/v1/complaints/\(id)/\(command)", token: token, body: body)
                #expect(answer.status == .ok, "\(command): \(answer.json)")
            }
            let appealID = try #require(
                try await Self.rows(settings, "SELECT stream_id FROM events WHERE stream_type = 'appeal'").first)
            let appeal = try await client.send(.get, "/v1/appeals/\(appealID)", token: tokens.office)
            #expect(appeal["appellant"]?["name"] == "Amina Diallo")
            #expect(appeal["appellant"]?["subject"] == .string(id))

            // The log holds no details in clear: the creating events carry the sealed form.
            let stored = try await Self.storedText(settings)
            for secret in ["Amina", "+221", "SN-123", "HH-42"] { #expect(!stored.contains(secret), "\(secret)") }
            #expect(stored.contains("\"sealed\""))
            let before = try await Self.hashes(settings)

            // A legal hold blocks erasure with a clear refusal; only admins manage subjects.
            let erasure = #"{"reason":"Request 2026/41 from the complainant","legal_basis":"Data Protection Act s.16"}"#
            var answer = try await client.send(.post, "/v1/subjects/\(id)/erasure", token: tokens.office, body: erasure)
            #expect(answer.status == .forbidden)
            answer = try await client.send(
                .post, "/v1/subjects/\(id)/legal-hold", token: tokens.admin, body: #"{"reason":"Audit 7"}"#)
            #expect(answer.status == .ok && answer["status"] == "held", "\(answer.json)")
            answer = try await client.send(.post, "/v1/subjects/\(id)/erasure", token: tokens.admin, body: erasure)
            #expect(answer.status == .conflict)
            #expect(answer["detail"]?.stringValue?.contains("legal hold (Audit 7)") == true, "\(answer.json)")
            answer = try await client.send(
                .post, "/v1/subjects/\(id)/erasure", token: tokens.admin, body: #"{"reason":"x"}"#)
            #expect(answer.status == .badRequest && answer["field"] == "legal_basis", "\(answer.json)")
            answer = try await client.send(.post, "/v1/subjects/C-NONE-000/erasure", token: tokens.admin, body: erasure)
            #expect(answer.status == .notFound)
            answer = try await client.send(
                .post, "/v1/subjects/\(id)/legal-hold/release", token: tokens.admin, body: #"{"reason":"Audit done"}"#)
            #expect(answer.status == .ok && answer["status"] == "active", "\(answer.json)")

            answer = try await client.send(.post, "/v1/subjects/\(id)/erasure", token: tokens.admin, body: erasure)
            #expect(
                answer.status == .ok && answer["status"] == "erased" && answer["key"] == "destroyed", "\(answer.json)")
            // Asking again changes nothing.
            answer = try await client.send(.post, "/v1/subjects/\(id)/erasure", token: tokens.admin, body: erasure)
            #expect(answer.status == .ok && answer["events"]?.arrayValue?.count == 3, "\(answer.json)")

            // Every view shows the complainant's and appellant's details as erased; the other subject is untouched.
            let erased: JSONValue = ["subject": .string(id), "erased": true]
            #expect(try await client.send(.get, "/v1/complaints/\(id)", token: tokens.office)["complainant"] == erased)
            #expect(try await client.send(.get, "/v1/appeals/\(appealID)", token: tokens.admin)["appellant"] == erased)
            let still = try await client.send(.get, "/v1/referrals/\(referralID)", token: tokens.receiver)
            #expect(still["person"]?["reference"] == "HH-42")
            // The case still works: commands on it are decided as before.
            answer = try await client.send(
                .post, "/v1/complaints/\(id)/add_note", token: tokens.office, body: #"{"text":"Called back."}"#)
            #expect(answer.status == .ok, "\(answer.json)")
            // Nothing stored changed but the key; the log verifies, stream sequences included.
            let after = try await Self.hashes(settings)
            #expect(Array(after.prefix(before.count)) == before)
            try await withStore(settings: settings) { store in
                let report = try await store.verify(checkStreams: true)
                #expect(report.isSound, "\(String(describing: report.problem))")
            }
        }
    }

    @Test func aWrongMasterKeyIsRefusedAtStartUp() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { client in
            let right = PersonalDataVault(client: client, master: TestDatabases.masterKey, logger: TestDatabases.logger)
            try await right.checkMasterKey(using: client)
            try await right.checkMasterKey(using: client)
            let wrong = try #require(PersonalData.masterKey(text: String(repeating: "01", count: 32)))
            await #expect(throws: PersonalDataVault.VaultError.wrongMasterKey) {
                try await PersonalDataVault(client: client, master: wrong, logger: TestDatabases.logger)
                    .checkMasterKey(using: client)
            }
        }
    }

    static func storedText(_ settings: DatabaseSettings) async throws -> String {
        try await Self.rows(settings, "SELECT payload::text || convert_from(canonical, 'UTF8') FROM events")
            .joined(separator: "\n")
    }

    static func hashes(_ settings: DatabaseSettings) async throws -> [String] {
        try await Self.rows(
            settings, "SELECT encode(hash, 'hex') || encode(canonical, 'hex') FROM events ORDER BY position")
    }

    static func rows(_ settings: DatabaseSettings, _ sql: String) async throws -> [String] {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            var rows: [String] = []
            let result = try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabases.logger)
            for try await row in result.decode(String.self) { rows.append(row) }
            return rows
        }
    }
}
