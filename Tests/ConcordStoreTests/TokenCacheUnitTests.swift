import ConcordCore
import Foundation
import Testing

@testable import ConcordStore

/// The cache's rules, without a database: nothing is trusted while not listening, an emptying wins over a lookup
/// that began before it, and entries expire.
@Suite struct TokenCacheUnitTests {
    let principal = Principal(tokenID: UUID(), role: .auditor, scope: nil, label: nil)
    let hash = Array(repeating: UInt8(7), count: 32)

    @Test func nothingIsCachedOrServedWhileNotListening() {
        let cache = TokenCache()
        let (found, generation) = cache.lookup(self.hash)
        #expect(found == nil)
        #expect(generation == nil)
        cache.store(self.principal, for: self.hash, generation: 0)
        #expect(cache.lookup(self.hash).principal == nil)
    }

    @Test func aLookupThatBeganBeforeARevocationIsNotCached() throws {
        let cache = TokenCache()
        cache.reset(listening: true)
        let generation = try #require(cache.lookup(self.hash).generation)
        cache.reset(listening: true)  // a revocation arrived while the lookup ran
        cache.store(self.principal, for: self.hash, generation: generation)
        #expect(cache.lookup(self.hash).principal == nil)
        let fresh = try #require(cache.lookup(self.hash).generation)
        cache.store(self.principal, for: self.hash, generation: fresh)
        #expect(cache.lookup(self.hash).principal == self.principal)
        cache.reset(listening: false)  // the listener lost its connection
        #expect(cache.lookup(self.hash).principal == nil)
    }

    @Test func entriesExpire() throws {
        let cache = TokenCache(lifetime: .zero)
        cache.reset(listening: true)
        let generation = try #require(cache.lookup(self.hash).generation)
        cache.store(self.principal, for: self.hash, generation: generation)
        #expect(cache.lookup(self.hash).principal == nil)
    }
}
