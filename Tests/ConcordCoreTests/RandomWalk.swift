import ConcordCore
import ConcordTestSupport

/// One accepted command of a random walk: the command, what it produced and the state after it.
struct Step<M: StateMachine> {
    var command: M.Command
    var events: [M.Event]
    var state: M.State
}

/// Random walks through a state machine with the generators of `DomainPropertyTests`, keeping the accepted steps.
enum RandomWalk<M: StateMachine> {
    /// The accepted steps of `walks` walks of up to 30 commands each, mostly commands the state allows.
    static func steps(seed: UInt64, walks: Int, command: Exercise<M>.Generate) -> [Step<M>] {
        var rng = SeededRandom(seed: seed)
        var steps: [Step<M>] = []
        for _ in 0..<walks {
            var state: M.State? = nil
            var minutes: Int64 = 0
            for _ in 0..<Int.random(in: 1...30, using: &rng) {
                let allowed = M.allowedCommands(in: state)
                guard let name = allowed.randomElement(using: &rng) else { break }
                minutes += Int64.random(in: 0...600, using: &rng)
                let next = command(&rng, name, state, Fixture.time(minutes))
                guard case .success(let events) = M.decide(next, state: state),
                    let after = events.reduce(state, M.evolve)
                else { continue }
                steps.append(Step(command: next, events: events, state: after))
                state = after
            }
        }
        return steps
    }
}

extension JSONValue {
    /// The members of an object; empty for anything else.
    var members: JSONObject {
        guard case .object(let members) = self else { return [:] }
        return members
    }
}
