import Synchronization

/// Where the service reads the time: the system clock in production, a `ManualClock` in tests, which move time
/// instead of sleeping. Command times, due times and "overdue" all come from one of these.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Timestamp

    public init(_ read: @escaping @Sendable () -> Timestamp) {
        self.read = read
    }

    public func now() -> Timestamp { self.read() }

    public static let system = WallClock { Timestamp.now() }
}

/// A clock that stands still until told to move.
public final class ManualClock: Sendable {
    private let current: Mutex<Timestamp>

    public init(_ start: Timestamp) {
        self.current = Mutex(start)
    }

    public func now() -> Timestamp { self.current.withLock { $0 } }

    public func advance(days: Int = 0, seconds: Int64 = 0) {
        self.current.withLock {
            $0 = Timestamp(
                microsecondsSinceEpoch: $0.microsecondsSinceEpoch + Int64(days) * 86_400_000_000 + seconds * 1_000_000)
        }
    }

    public var wallClock: WallClock { WallClock { self.now() } }
}
