import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// Verification compares the jsonb copies by printing what PostgreSQL prints: the printer must agree with the real
/// server byte for byte, or every comparison falls back to the slow path.
@Suite struct JSONBTextTests {
    @Test func thePrinterAgreesWithPostgreSQL() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let values: [JSONValue] = [
            [:], [], ["b": 1, "a": 2, "aa": [1, "x", nil, true, false], "z": ["": "", "nested": ["k": -7]]],
            ["text": "quote \" backslash \\ tab \t newline \n bell \u{07} nul-free é 日本 🙂 </script>"],
            ["long_key_name": 9_223_372_036_854_775_807, "k": -9_223_372_036_854_775_807, "ab": "x", "ba": "y"],
            ["é": 1, "e": 2, "zz": 3, "ä": 4], ["controls": "\u{01}\u{08}\u{0C}\u{0D}\u{1F}"],
        ]
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            for value in values {
                let canonical = String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
                let rows = try await client.query("SELECT \(canonical)::jsonb::text", logger: TestDatabases.logger)
                for try await printed in rows.decode(String.self) {
                    #expect(Array(printed.utf8) == JSONBText.of(value), "\(printed)")
                    #expect(JSONBText.matches(value, Array(printed.utf8)), "\(printed)")
                }
            }
        }
    }
}
