import ConcordCore
import ConcordHTTP
import ConcordTestSupport
import Foundation
import Testing

/// Member names are compared as the canonical form says (UTF-16 code units), not as Swift's canonically
/// equivalent strings: the API keeps two keys that differ only in composition, and refuses what the log cannot hold.
@Suite struct CanonicalKeysAPITests {
    @Test func precomposedAndDecomposedFormFieldsAreTwoFields() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let body = Body.referral.replacingOccurrences(
                of: #""form_fields":{"members":"5"}"#, with: "\"form_fields\":{\"\u{E9}\":\"1\",\"e\u{301}\":\"2\"}")
            #expect(body != Body.referral)
            let created = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: body)
            #expect(created.status == .created, "\(created.json)")
            let id = try #require(created["id"]?.stringValue)
            let view = try await client.send(.get, "/v1/referrals/\(id)", token: tokens.programme)
            guard case .object(let fields)? = view["person"]?["form_fields"] else {
                Issue.record("no form_fields in \(view.json)")
                return
            }
            #expect(fields.count == 2)
            #expect(fields["\u{E9}"] == "1" && fields["e\u{301}"] == "2")
            #expect(fields.keys == ["e\u{301}", "\u{E9}"])
        }
    }

    @Test(arguments: [
        ("\"form_fields\":{\"\u{1F600}\":\"x\"}", "person.form_fields", "U+10000"),
        ("\"form_fields\":{\"members\":\"5\",\"size\":9007199254740992}", "person.form_fields.size", "out of range"),
    ])
    func whatTheLogCannotHoldIsRefusedNamingTheField(_ fields: String, _ field: String, _ reason: String) async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let body = Body.referral.replacingOccurrences(of: #""form_fields":{"members":"5"}"#, with: fields)
            let answer = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: body)
            #expect(answer.status == .badRequest)
            #expect(answer["field"] == .string(field), "\(answer.json)")
            #expect(answer["detail"]?.stringValue?.contains(reason) == true, "\(answer.json)")
        }
    }
}
