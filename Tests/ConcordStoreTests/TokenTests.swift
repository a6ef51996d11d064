import ConcordCore
import ConcordStore
import ConcordTestSupport
import Crypto
import Foundation
import PostgresNIO
import Testing

/// Runs `body` on a fresh migrated database with two token stores: one connected as the owner (which creates and
/// revokes, as `concord token` does) and one as the service role (which only authenticates, as `serve` does).
private func withTokenStores<T: Sendable>(
    _ body: @Sendable (_ owner: TokenStore, _ service: TokenStore, _ settings: DatabaseSettings) async throws -> T
) async throws -> T {
    let settings = try await TestDatabases.shared.freshDatabase()
    let logger = TestDatabases.logger
    return try await PostgresClient.withRunning(settings.owner, logger: logger) { ownerClient in
        try await PostgresClient.withRunning(settings.service, logger: logger) { serviceClient in
            try await body(
                TokenStore(client: ownerClient, logger: logger), TokenStore(client: serviceClient, logger: logger),
                settings)
        }
    }
}

/// Runs one statement as `configuration`'s role; returns the SQLSTATE it failed with, or nil when it succeeded.
private func sqlState(of statement: String, as configuration: PostgresClient.Configuration) async throws -> String? {
    do {
        _ = try await PostgresClient.withRunning(configuration, logger: TestDatabases.logger) { client in
            try await client.execute(PostgresQuery(unsafeSQL: statement), logger: TestDatabases.logger)
        }
        return nil
    } catch let error as PSQLError {
        return error.serverInfo?[.sqlState]
    }
}

@Suite struct TokenTests {
    @Test func aCreatedTokenAuthenticatesAsItsPrincipal() async throws {
        try await withTokenStores { owner, service, _ in
            let (principal, secret) = try await owner.create(role: .office, scope: "OFF-001", label: "front desk")
            #expect(principal.role == .office && principal.scope == "OFF-001" && principal.label == "front desk")
            #expect(secret.hasPrefix("concord_") && secret.count == "concord_".count + 43)
            #expect(try await service.authenticate(secret) == principal)
            #expect(principal.metadataActor == "token:" + principal.tokenID.uuidString.lowercased().prefix(8))
            #expect(!principal.metadataActor.contains(secret.dropFirst("concord_".count).prefix(8)))
        }
    }

    @Test func eachTokenGetsItsOwnSecret() async throws {
        try await withTokenStores { owner, service, _ in
            let first = try await owner.create(role: .auditor, scope: nil, label: nil)
            let second = try await owner.create(role: .auditor, scope: nil, label: nil)
            #expect(first.secret != second.secret && first.principal.tokenID != second.principal.tokenID)
            #expect(try await service.authenticate(second.secret) == second.principal)
        }
    }

    @Test func unknownAndMalformedSecretsDoNotAuthenticate() async throws {
        try await withTokenStores { owner, service, _ in
            let (_, secret) = try await owner.create(role: .admin, scope: nil, label: nil)
            let unknown = "concord_" + String(repeating: "A", count: 43)
            let malformed = [
                "", "concord_", "Bearer " + secret, String(secret.dropLast()), secret + "A",
                String(secret.dropFirst("concord_".count)),
                secret.replacingOccurrences(of: "concord_", with: "concorD_"),
                String(secret.dropLast()) + "=", String(secret.dropLast()) + "+", " " + secret,
            ]
            #expect(try await service.authenticate(unknown) == nil)
            for candidate in malformed {
                #expect(try await service.authenticate(candidate) == nil, "\(candidate.count) characters")
            }
            #expect(try await service.authenticate(secret) != nil)
        }
    }

    @Test func aRevokedTokenNoLongerAuthenticates() async throws {
        try await withTokenStores { owner, service, _ in
            let (principal, secret) = try await owner.create(role: .programme, scope: "CCT", label: nil)
            let (other, otherSecret) = try await owner.create(role: .programme, scope: "CCT", label: nil)
            #expect(try await owner.revoke(principal.tokenID))
            #expect(try await service.authenticate(secret) == nil)
            #expect(try await service.authenticate(otherSecret) == other)
            #expect(try await owner.revoke(principal.tokenID) == false)
            #expect(try await owner.revoke(UUID()) == false)
        }
    }

    @Test func listShowsEveryTokenWithItsRevocation() async throws {
        try await withTokenStores { owner, _, _ in
            let kept = try await owner.create(role: .coordinator, scope: "PROV-02", label: "province desk").principal
            let revoked = try await owner.create(role: .auditor, scope: nil, label: nil).principal
            #expect(try await owner.revoke(revoked.tokenID))
            let listed = try await owner.list()
            #expect(Set(listed.map(\.principal)) == [kept, revoked])
            #expect(listed.first { $0.principal == kept }?.revokedAt == nil)
            let revocation = try #require(listed.first { $0.principal == revoked })
            #expect(try #require(revocation.revokedAt) >= revocation.createdAt)
        }
    }

    @Test(
        arguments: [
            (Role.office, nil, TokenError.scopeRequired(.office)),
            (Role.programme, "", TokenError.scopeRequired(.programme)),
            (Role.coordinator, nil, TokenError.scopeRequired(.coordinator)),
            (Role.auditor, "OFF-001", TokenError.scopeNotAllowed(.auditor)),
            (Role.admin, "", TokenError.scopeNotAllowed(.admin)),
        ] as [(Role, String?, TokenError)])
    func aScopeThatDoesNotFitTheRoleIsRefused(_ role: Role, _ scope: String?, _ expected: TokenError) async throws {
        try await withTokenStores { owner, _, _ in
            await #expect(throws: expected) {
                try await owner.create(role: role, scope: scope, label: nil)
            }
            let listed = try await owner.list()
            #expect(listed.isEmpty)
            #expect(!expected.description.contains("\n") && expected.description.contains(role.rawValue))
        }
    }

    @Test func theDatabaseRefusesAScopeThatDoesNotFitTheRole() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        for (role, scope) in [("office", "NULL"), ("auditor", "'OFF-001'"), ("programme", "''"), ("clerk", "'X'")] {
            let insert = """
                INSERT INTO api_tokens (id, token_hash, role, scope)
                VALUES (gen_random_uuid(), sha256('\(role)'::bytea), '\(role)', \(scope))
                """
            #expect(try await sqlState(of: insert, as: settings.owner) == "23514", "\(role) \(scope)")
        }
    }

    @Test func theStoredRowHoldsOnlyTheSecretsHash() async throws {
        try await withTokenStores { owner, _, settings in
            let (principal, secret) = try await owner.create(role: .office, scope: "OFF-001", label: nil)
            try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
                let rows = try await client.query(
                    "SELECT token_hash FROM api_tokens WHERE id = \(principal.tokenID)", logger: TestDatabases.logger)
                var hashes: [[UInt8]] = []
                for try await hash in rows.decode(ByteBuffer.self) { hashes.append(Array(buffer: hash)) }
                #expect(hashes.count == 1)
                #expect(hashes.first?.count == 32 && hashes.first != Array(secret.utf8))
                #expect(hashes.first == Array(SHA256.hash(data: Array(secret.utf8))))
                let body = String(secret.dropFirst("concord_".count))
                let leaks = try await client.query(
                    "SELECT count(*) FROM api_tokens WHERE strpos(row_to_json(api_tokens)::text, \(body)) > 0",
                    logger: TestDatabases.logger)
                var counts: [Int] = []
                for try await count in leaks.decode(Int.self) { counts.append(count) }
                #expect(counts == [0])
            }
        }
    }

    /// The service issues and revokes tokens (the admin pages, migration 0012), but a revocation is final: not even
    /// the owner revives a revoked token.
    @Test func theServiceRoleIssuesAndRevokesButARevocationIsFinal() async throws {
        try await withTokenStores { owner, service, settings in
            let (principal, secret) = try await service.create(role: .auditor, scope: nil, label: "warehouse")
            #expect(try await service.authenticate(secret) == principal)
            #expect(try await service.revoke(principal.tokenID))
            #expect(try await service.authenticate(secret) == nil)
            let id = principal.tokenID.uuidString.lowercased()
            for configuration in [settings.service, settings.owner] {
                let revive = "UPDATE api_tokens SET revoked_at = NULL WHERE id = '\(id)'"
                #expect(try await sqlState(of: revive, as: configuration) == "23514")
            }
            #expect(try await owner.authenticate(secret) == nil)
            #expect(try await owner.list().count == 1)
        }
    }

    @Test(arguments: [
        "UPDATE api_tokens SET role = 'admin', scope = NULL",
        "UPDATE api_tokens SET token_hash = sha256('x'::bytea)",
        "DELETE FROM api_tokens",
        "TRUNCATE api_tokens",
    ])
    func theServiceRoleCannotChangeOrDeleteTokens(_ statement: String) async throws {
        try await withTokenStores { owner, service, settings in
            let (principal, secret) = try await owner.create(role: .office, scope: "OFF-001", label: nil)
            #expect(try await sqlState(of: statement, as: settings.service) == "42501")
            #expect(try await service.authenticate(secret) == principal)
        }
    }

    @Test func onlyAProgrammeTokenCanBeAFocalPoint() async throws {
        try await withTokenStores { owner, service, _ in
            await #expect(throws: TokenError.focalPointNotAProgramme(.office)) {
                try await owner.create(role: .office, scope: "OFF-001", label: nil, focalPoint: true)
            }
            let created = try await owner.create(role: .programme, scope: "CCT", label: nil, focalPoint: true)
            let principal = try await service.authenticate(created.secret)
            #expect(principal?.focalPoint == true)
        }
    }
}
