import ConcordCore
import ConcordTestSupport
import Testing

/// Referral outcomes that can be counted: how a completed referral ended (delivered, or why not, from the code
/// list) is in its view and in the indicators as the share of successful referrals.
@Suite struct ReferralOutcomeTests {
    @Test func theShareOfSuccessfulReferralsCountsEachCompletionByItsCode() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let outcomes = [
                #"{"outcome":"delivered"}"#,
                #"{"outcome":"not_delivered","not_delivered_reason":"provider_unreachable"}"#,
                #"{"outcome":"not_delivered","not_delivered_reason":"client_refused"}"#,
                #"{"outcome":"delivered"}"#,
            ]
            var ids: [String] = []
            for outcome in outcomes {
                let created = try await client.send(
                    .post, "/v1/referrals", token: tokens.programme, body: Body.referral)
                let id = try #require(created["id"]?.stringValue, "\(created.json)")
                for (command, body) in [
                    ("acknowledge", "{}"), ("accept", "{}"), ("start_service", "{}"), ("complete", outcome),
                ] {
                    let answer = try await client.send(
                        .post, "/v1/referrals/\(id)/\(command)", token: tokens.receiver, body: body)
                    #expect(answer.status == .ok, "\(command): \(answer.json)")
                }
                ids.append(id)
            }
            // One more, not yet completed: it counts as sent, not in the share.
            _ = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            let second = try await client.send(.get, "/v1/referrals/\(ids[1])", token: tokens.receiver)
            #expect(second.text.contains("provider_unreachable"), "\(second.json)")

            try await poll(within: .seconds(30), "the indicators count the four completions") {
                let figures = try await client.send(.get, "/v1/indicators", token: tokens.auditor)
                return figures.text.contains(#""referrals_completed":4"#)
            }
            // Shares are decimals, which the canonical JSON parser refuses: read as text.
            let figures = try await client.send(.get, "/v1/indicators", token: tokens.auditor).text
            for figure in [#""referrals_sent":5"#, #""referrals_delivered":2"#, #""referral_success_rate":0.5"#] {
                #expect(figures.contains(figure), "\(figure) in \(figures)")
            }

            // A code outside the list is refused, naming the field, and changes nothing.
            let created = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
            let id = try #require(created["id"]?.stringValue)
            for command in ["acknowledge", "accept", "start_service"] {
                _ = try await client.send(.post, "/v1/referrals/\(id)/\(command)", token: tokens.receiver, body: "{}")
            }
            let refused = try await client.send(
                .post, "/v1/referrals/\(id)/complete", token: tokens.receiver,
                body: #"{"outcome":"not_delivered","not_delivered_reason":"weather"}"#)
            #expect(refused.status == .badRequest || refused.status == .unprocessableContent, "\(refused.json)")
            #expect(refused.text.contains("not_delivered_reason"), "\(refused.json)")
            let after = try await client.send(.get, "/v1/referrals/\(id)", token: tokens.receiver)
            #expect(after["referral"]?["status"] == "in_service", "\(after.json)")
        }
    }
}
