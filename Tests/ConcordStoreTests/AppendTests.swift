import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

func event(_ type: String = "Noted", _ payload: JSONValue = ["note": "x"]) -> EventData {
    EventData(type: type, payload: payload, metadata: EventMetadata(actor: "tester", role: "office", scope: "OFF-1"))
}

@Suite struct AppendTests {
    @Test func appendThenReadRoundTrips() async throws {
        try await withStore { store, _ in
            let stream = StreamName(type: "complaint", id: "c-1")
            let sent = [
                event("ComplaintLodged", ["category": "payment_delay", "size": 3]), event("ComplaintAcknowledged", [:]),
            ]
            let result = try await store.append(to: stream, expectedVersion: .noStream, events: sent)
            #expect(
                result
                    == AppendResult(
                        stream: stream, firstPosition: 1, lastPosition: 2, firstVersion: 1, lastVersion: 2,
                        recordedAt: result.recordedAt))
            #expect(result.recordedAt != nil)

            let read = try await store.readStream(stream)
            #expect(read.map(\.id) == sent.map(\.id))
            #expect(read.map(\.payload) == sent.map(\.payload))
            #expect(read.map(\.metadata) == sent.map(\.metadata))
            #expect(read.map(\.streamVersion) == [1, 2])
            #expect(try await store.readAll(after: 0) == read)
            #expect(try await store.readAll(after: 1).map(\.position) == [2])
            #expect(try await store.version(of: stream) == 2)
            #expect(try await store.head().position == 2)
            #expect(try await store.head().hash == read[1].hash)
            #expect(read[0].recordedAt <= read[1].recordedAt)
        }
    }

    @Test func wrongExpectedVersionIsATypedConflictAndWritesNothing() async throws {
        try await withStore { store, _ in
            let stream = StreamName(type: "referral", id: "r-1")
            _ = try await store.append(to: stream, expectedVersion: .noStream, events: [event()])
            for expected in [ExpectedVersion.noStream, .exact(2), .exact(7)] {
                let error = await #expect(throws: EventStoreError.self) {
                    try await store.append(to: stream, expectedVersion: expected, events: [event()])
                }
                #expect(error?.code == .wrongExpectedVersion)
                #expect(error?.currentVersion == 1)
            }
            #expect(try await store.head().position == 1)
            let next = try await store.append(to: stream, expectedVersion: .exact(1), events: [event()])
            #expect(next.firstVersion == 2 && next.firstPosition == 2)
            let any = try await store.append(to: stream, expectedVersion: .any, events: [event(), event()])
            #expect(any.lastVersion == 4 && any.lastPosition == 4)
        }
    }

    @Test func malformedAppendsAreRefused() async throws {
        try await withStore { store, _ in
            let stream = StreamName(type: "complaint", id: "c-1")
            for (target, events, expected) in [
                (stream, [EventData](), ExpectedVersion.any), (StreamName(type: "", id: "x"), [event()], .any),
                (stream, [event("")], .any), (stream, [event()], .exact(0)),
            ] {
                let error = await #expect(throws: EventStoreError.self) {
                    try await store.append(to: target, expectedVersion: expected, events: events)
                }
                #expect(error?.code == .invalidAppend)
            }
            let head = try await store.head()
            #expect(head.position == 0)
        }
    }

    @Test func racingExactAppendsHaveOneWinnerPerVersion() async throws {
        try await withStore { store, _ in
            let stream = StreamName(type: "complaint", id: "raced")
            let tasks = 16
            let attemptsPerTask = 10
            // Each task keeps trying to append "its" next event with the version it last saw.
            let wins = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        var wins = 0
                        for _ in 0..<attemptsPerTask {
                            let seen = try await store.version(of: stream)
                            do {
                                _ = try await store.append(
                                    to: stream, expectedVersion: seen == 0 ? .noStream : .exact(seen), events: [event()]
                                )
                                wins += 1
                            } catch let error as EventStoreError where error.code == .wrongExpectedVersion {}
                        }
                        return wins
                    }
                }
                return try await group.reduce(0, +)
            }
            let events = try await store.readStream(stream)
            #expect(wins > 0)
            #expect(events.count == wins)
            #expect(events.map(\.streamVersion) == Array(1...Int64(wins)))
            #expect(events.map(\.position) == Array(1...Int64(wins)))
        }
    }

    @Test func oneConflictFailsOnlyItsOwnRequestInABatch() async throws {
        try await withStore { store, _ in
            for index in 0..<20 {
                _ = try await store.append(
                    to: StreamName(type: "s", id: "\(index)"), expectedVersion: .noStream, events: [event()])
            }
            // Half the requests expect the wrong version; sent together, they share batches with the good half.
            let outcomes = await withTaskGroup(of: (Int, Result<AppendResult, any Error>).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let stream = StreamName(type: "s", id: "\(index % 20)")
                        let expected: ExpectedVersion = index < 20 ? .exact(1) : .exact(5)
                        do {
                            return (
                                index,
                                .success(
                                    try await store.append(
                                        to: stream, expectedVersion: expected, events: [event()]))
                            )
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [Int: Result<AppendResult, any Error>]()) { $0[$1.0] = $1.1 }
            }
            for index in 0..<20 {
                // Each good request landed on its own stream, as its version 2.
                guard case .success(let result) = outcomes[index] else {
                    Issue.record("request \(index) failed: \(String(describing: outcomes[index]))")
                    continue
                }
                #expect(result.stream.id == "\(index)" && result.firstVersion == 2, "request \(index): \(result)")
            }
            for index in 20..<40 {
                // Each bad request failed for its own wrong version, naming its own stream.
                guard case .failure(let failure) = outcomes[index], let error = failure as? EventStoreError else {
                    Issue.record(
                        "request \(index) did not fail with EventStoreError: \(String(describing: outcomes[index]))")
                    continue
                }
                #expect(error.code == .wrongExpectedVersion, "request \(index): \(error)")
                // Its stream stood at version 1 or 2, as its good twin landed after or before it.
                #expect(
                    error.stream?.id == "\(index % 20)" && [1, 2].contains(error.currentVersion ?? 0),
                    "request \(index): \(error)")
            }
            #expect(try await store.head().position == 40)
        }
    }

    @Test func aDuplicateEventIDFailsAloneAndItsBatchMatesLand() async throws {
        try await withStore { store, _ in
            let duplicate = event()
            _ = try await store.append(
                to: StreamName(type: "s", id: "first"), expectedVersion: .any, events: [duplicate])
            let outcomes = await withTaskGroup(of: (String, Result<AppendResult, any Error>).self) { group in
                group.addTask {
                    do {
                        return (
                            "dup",
                            .success(
                                try await store.append(
                                    to: StreamName(type: "s", id: "dup"), expectedVersion: .any, events: [duplicate]))
                        )
                    } catch {
                        return ("dup", .failure(error))
                    }
                }
                for index in 0..<30 {
                    group.addTask {
                        do {
                            return (
                                "ok-\(index)",
                                .success(
                                    try await store.append(
                                        to: StreamName(type: "s", id: "ok-\(index)"), expectedVersion: .any,
                                        events: [event()]))
                            )
                        } catch {
                            return ("ok-\(index)", .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [String: Result<AppendResult, any Error>]()) { $0[$1.0] = $1.1 }
            }
            // The duplicate alone failed, and for its event id: a unique violation on the events' id, nothing else.
            guard case .failure(let failure) = outcomes["dup"] else {
                Issue.record("the duplicate event id was appended: \(String(describing: outcomes["dup"]))")
                return
            }
            let duplicateError = failure
            let sqlState = (duplicateError as? PSQLError)?.serverInfo?[.sqlState]
            let constraint = (duplicateError as? PSQLError)?.serverInfo?[.constraintName] ?? ""
            #expect(sqlState == "23505" && constraint == "events_event_id_key", "\(String(reflecting: duplicateError))")
            for index in 0..<30 {
                guard case .success(let result) = outcomes["ok-\(index)"] else {
                    Issue.record("ok-\(index) failed: \(String(describing: outcomes["ok-\(index)"]))")
                    continue
                }
                #expect(result.stream.id == "ok-\(index)")
            }
            #expect(try await store.head().position == 31)
            #expect(try await store.verify().isSound)
        }
    }
}

@Suite struct IdempotencyTests {
    @Test func aRetryReturnsTheOriginalResultAndWritesNothing() async throws {
        try await withStore { store, _ in
            let stream = StreamName(type: "complaint", id: "c-9")
            let original = try await store.append(
                to: stream, expectedVersion: .noStream, events: [event()], idempotencyKey: "k-1")
            #expect(!original.replayed)
            // A retry regenerates event ids; the key still identifies it.
            let retry = try await store.append(
                to: stream, expectedVersion: .noStream, events: [event()], idempotencyKey: "k-1")
            #expect(retry.replayed)
            #expect(retry.firstPosition == original.firstPosition && retry.lastVersion == original.lastVersion)
            #expect(try await store.head().position == 1)
            let stored = try await store.readStream(stream)
            #expect(stored.first?.metadata.idempotencyKey == "k-1")
        }
    }

    @Test func theSameKeyForADifferentRequestIsRefused() async throws {
        try await withStore { store, _ in
            _ = try await store.append(
                to: StreamName(type: "c", id: "1"), expectedVersion: .any, events: [event()], idempotencyKey: "k")
            let other = await #expect(throws: EventStoreError.self) {
                try await store.append(
                    to: StreamName(type: "c", id: "2"), expectedVersion: .any, events: [event()], idempotencyKey: "k")
            }
            #expect(other?.code == .idempotencyKeyReused)
            let changed = await #expect(throws: EventStoreError.self) {
                try await store.append(
                    to: StreamName(type: "c", id: "1"), expectedVersion: .any, events: [event("Noted", ["note": "y"])],
                    idempotencyKey: "k")
            }
            #expect(changed?.code == .idempotencyKeyReused)
            #expect(try await store.head().position == 1)
        }
    }

    @Test func retriesRacingTheOriginalTakeEffectOnce() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        // Two stores on one database behave as two processes: each has its own pool and its own writer.
        try await withStore(settings: settings) { first in
            try await withStore(settings: settings) { second in
                for round in 0..<10 {
                    let stream = StreamName(type: "complaint", id: "raced-\(round)")
                    let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                        for attempt in 0..<12 {
                            let store = attempt.isMultiple(of: 2) ? first : second
                            group.addTask {
                                try await store.append(
                                    to: stream, expectedVersion: .noStream, events: [event(), event()],
                                    idempotencyKey: "key-\(round)")
                            }
                        }
                        return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
                    }
                    #expect(results.filter { !$0.replayed }.count == 1)
                    #expect(Set(results.map(\.firstPosition)).count == 1)
                    #expect(Set(results.map(\.lastVersion)) == [2])
                    #expect(try await first.readStream(stream).count == 2)
                }
                #expect(try await first.head().position == 20)
            }
        }
    }
}
