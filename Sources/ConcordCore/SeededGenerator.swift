import Crypto

/// SplitMix64 seeded from a string's SHA-256: the same text always gives the same numbers. Concord uses it where a
/// retry must choose the same identifier as the first attempt (the tracking code of a keyed creation, of the appeal
/// a reopening opens), and tests use it for repeatable random walks.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: String) {
        self.state = SHA256.hash(data: Array(seed.utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public init(state: UInt64) {
        self.state = state
    }

    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
