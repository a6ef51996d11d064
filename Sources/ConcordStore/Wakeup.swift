import Synchronization

/// A generation counter that followers wait on: bumped when a batch commits in this process or a NOTIFY arrives
/// from another. A follower reads the generation before it reads the log, so a signal between its read and its
/// wait is never lost; the timeout is the polling fallback for lost notifications.
final class Wakeup: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: (since: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiter: UInt64 = 0
    }
    private let state = Mutex(State())

    var generation: UInt64 { self.state.withLock { $0.generation } }

    func signal() {
        let ready = self.state.withLock { state in
            state.generation += 1
            let waiters = state.waiters.values.map(\.continuation)
            state.waiters.removeAll()
            return waiters
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns when the generation has moved past `since`, the timeout passes, or the task is cancelled.
    func wait(since: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal(since: since) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal(since: UInt64) async {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.generation != since || Task.isCancelled { return true }
                    state.waiters[id] = (since, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }
}
