import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordStore
import Crypto
import Foundation
import Logging
import PostgresNIO

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Auditors' tools over the event log.",
        subcommands: [Verify.self, Checkpoint.self, Keygen.self, Export.self, AsOf.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the hash chain, positions, stream versions, canonical bytes, payloads and each stream's sequence; exit 1 at the first fault."
        )

        @Option(help: "First position to check.") var from: Int64 = 1
        @Option(help: "Last position to check (default: the head).") var to: Int64?
        @Option(help: "A signed checkpoint file (from `concord audit checkpoint`): the log must still hold its prefix.")
        var checkpoint: String?
        @Option(
            help:
                "The public checkpoint key: checks the --checkpoint file and every checkpoint the log holds that this key signed."
        )
        var publicKey: String?

        func validate() throws {
            guard self.from >= 1, (self.to ?? self.from) >= self.from else {
                throw ValidationError("--from starts at 1 and --to may not come before it")
            }
            guard self.checkpoint == nil || self.publicKey != nil else {
                throw ValidationError("--checkpoint needs the --public-key that signed it")
            }
        }

        func run() async throws {
            let publicKey = try self.publicKey.map { file in try failingNow { try CheckpointKeys.publicKey(file: file) }
            }
            let keyData = publicKey?.rawRepresentation
            let anchor = try self.checkpoint.map { file -> ConcordCore.Checkpoint in
                guard let key = publicKey else { throw ValidationFailure(message: "--checkpoint needs --public-key") }
                guard let data = FileManager.default.contents(atPath: file),
                    let json = try? JSONParser.parse(Array(data)),
                    let checkpoint = ConcordCore.Checkpoint(json: json)
                else { throw ValidationFailure(message: "\(file) is not a Concord checkpoint file") }
                guard checkpoint.isSigned(by: key) else {
                    throw ValidationFailure(message: "the checkpoint in \(file) is not signed by that public key")
                }
                return checkpoint
            }
            let start = ContinuousClock.now
            let (from, to) = (self.from, self.to)
            let (report, checkpointProblem, inLog) = try await withDatabase {
                store, _, _ -> (VerificationReport, String?, Int) in
                let head = try await store.head().position
                let meter = ProgressMeter(label: "verifying")
                let report = try await store.verify(from: from, to: to, checkStreams: true) {
                    meter.update(position: $0, head: to ?? head)
                }
                meter.finish()
                if let anchor, let problem = try await store.problem(with: anchor) { return (report, problem, 0) }
                guard let keyData else { return (report, nil, 0) }
                let (problem, checked) = try await Audit.checkpointsInLog(store, key: keyData)
                return (report, problem, checked)
            }
            let seconds = max((ContinuousClock.now - start).seconds, 1e-9)
            print(
                "checked \(report.eventsChecked) events in \(report.streams) streams in \(String(format: "%.1f", seconds)) s, "
                    + "\(Int(Double(report.eventsChecked) / seconds)) events/s; head \(report.lastPosition) "
                    + report.lastHash.hexString)
            if let problem = report.problem {
                throw ValidationFailure(message: "log is NOT sound at \(problem)")
            }
            guard report.eventsChecked > 0 else {
                throw ValidationFailure(
                    message: "no events in positions \(from)...\(to.map(String.init) ?? "head"): nothing to vouch for")
            }
            if let checkpointProblem { throw ValidationFailure(message: "log is NOT sound: \(checkpointProblem)") }
            if let checkpoint = anchor {
                print("the log holds the checkpoint at position \(checkpoint.position) signed \(checkpoint.at.rfc3339)")
            }
            if publicKey != nil { print("\(inLog) checkpoints in the log are signed by the key and hold") }
            print("log is sound")
        }
    }

    /// Every checkpoint in the log that `key` signed must carry a good signature and still hold; one that claims
    /// the key's id but does not verify was forged or altered.
    static func checkpointsInLog(_ store: EventStore, key: Data) async throws -> (problem: String?, checked: Int) {
        let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: key)
        let keyID = ConcordCore.Checkpoint.keyID(of: publicKey)
        var checked = 0
        for checkpoint in try await store.checkpointsInLog() where checkpoint.keyID == keyID {
            guard checkpoint.isSigned(by: publicKey) else {
                return (
                    "the checkpoint in the log for position \(checkpoint.position) does not carry a valid signature",
                    checked
                )
            }
            if let problem = try await store.problem(with: checkpoint) { return (problem, checked) }
            checked += 1
        }
        return (nil, checked)
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign the log's head now, append the checkpoint to the log and write it to a file for auditors.")

        @Option(help: "The private signing key (env CONCORD_CHECKPOINT_KEY).")
        var key: String?
        @Option(help: "Where to write the checkpoint (default: standard output).") var out: String?

        func run() async throws {
            guard let file = self.key ?? ProcessInfo.processInfo.environment["CONCORD_CHECKPOINT_KEY"] else {
                throw ValidationFailure(message: "give the signing key with --key or CONCORD_CHECKPOINT_KEY")
            }
            let key = try failingNow { try CheckpointKeys.privateKey(file: file) }.rawRepresentation
            let checkpoint = try await withDatabase { store, _, _ in
                try await withRunningStore(store) { try await store.appendCheckpoint(key: key, at: .now()) }
            }
            let text = String(decoding: CanonicalJSON.encode(checkpoint.json), as: UTF8.self) + "\n"
            if let out = self.out {
                guard FileManager.default.createFile(atPath: out, contents: Data(text.utf8)) else {
                    throw ValidationFailure(message: "cannot write \(out)")
                }
                print("checkpoint at position \(checkpoint.position) written to \(out)")
            } else {
                print(text, terminator: "")
            }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make an Ed25519 key pair for signing checkpoints: the private half for the service, the public for auditors."
        )

        @Option(help: "The private key file to write (mode 0600).") var privateKey: String
        @Option(help: "The public key file to write.") var publicKey: String

        func run() throws {
            for path in [self.privateKey, self.publicKey] where FileManager.default.fileExists(atPath: path) {
                throw ValidationFailure(message: "\(path) exists already: refusing to overwrite a key")
            }
            let key = Curve25519.Signing.PrivateKey()
            for (path, data, mode) in [
                (self.privateKey, key.rawRepresentation, 0o600),
                (self.publicKey, key.publicKey.rawRepresentation, 0o644),
            ] {
                guard
                    FileManager.default.createFile(
                        atPath: path, contents: Data((data.base64EncodedString() + "\n").utf8),
                        attributes: [.posixPermissions: mode])
                else { throw ValidationFailure(message: "cannot write \(path)") }
            }
            print(
                "key \(ConcordCore.Checkpoint.keyID(of: key.publicKey)): private \(self.privateKey), public \(self.publicKey)"
            )
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stream events with their canonical bytes and chain hashes, one JSON object a line.")

        @Option(help: "First position.") var from: Int64 = 1
        @Option(help: "Last position (default: the head).") var to: Int64?
        @Option(help: "ndjson (the log's own fields) or cloudevents (CloudEvents 1.0 JSON).") var format: String =
            "ndjson"
        @Flag(
            help:
                "Add each sealed personal object opened (or shown erased) beside the stored payload; needs the master key (CONCORD_MASTER_KEY_FILE)."
        )
        var unseal = false

        func run() async throws {
            guard let format = AuditExport(rawValue: self.format) else {
                throw ValidationFailure(message: "--format takes ndjson or cloudevents, not \(self.format)")
            }
            guard self.from >= 1, (self.to ?? self.from) >= self.from else {
                throw ValidationFailure(message: "--from starts at 1 and --to may not come before it")
            }
            let (from, to) = (self.from, self.to ?? .max)
            let master =
                try self.unseal
                ? failingNow {
                    try PersonalDataVault.masterKey(environment: ProcessInfo.processInfo.environment).withUnsafeBytes {
                        [UInt8]($0)
                    }
                } : nil
            try await withDatabase { store, client, logger in
                let vault = master.map {
                    PersonalDataVault(client: client, master: SymmetricKey(data: $0), logger: logger)
                }
                if let vault { try await failing { try await vault.verifyMasterKey(using: client) } }
                var position = from - 1
                while position < to {
                    let page = try await store.readStored(after: position, through: to, limit: 2_000)
                    guard let last = page.last else { break }
                    let opened = try await vault?.unseal(page.map(\.event))
                    var bytes: [UInt8] = []
                    for (index, event) in page.enumerated() {
                        let personal: JSONValue? = PersonalData.members[event.event.type].flatMap { key in
                            opened?[index].payload[key].map { .object([key: $0]) }
                        }
                        bytes += format.line(event, personal: personal)
                    }
                    FileHandle.standardOutput.write(Data(bytes))
                    position = last.event.position
                }
            }
        }
    }

    struct AsOf: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "as-of",
            abstract:
                "A case, or the indicators, exactly as they stood at a past position or time (replayed; live tables untouched).",
            discussion:
                "concord audit as-of --position 1200 case C-7K3Q-9DX\nconcord audit as-of --time 2026-11-01T00:00:00.000000Z indicators"
        )

        @Option(help: "The position to stop at.") var position: Int64?
        @Option(help: "The time to stop at (RFC 3339, e.g. 2026-11-01, 2026-11-01T09:30:00+03:00).")
        var time: String?
        @Argument(help: "case ID (tracking code), or indicators.") var what: [String]

        func run() async throws {
            guard (self.position == nil) != (self.time == nil) else {
                throw ValidationFailure(message: "give exactly one of --position and --time")
            }
            let time = try self.time.map { text in
                switch Timestamp.parseRFC3339(text) {
                case .success(let time): return time
                case .failure(let error):
                    throw ValidationFailure(message: "--time takes an RFC 3339 date or time: \(error)")
                }
            }
            let what = self.what
            guard what == ["indicators"] || (what.count == 2 && what[0] == "case") else {
                throw ValidationFailure(message: "say what to show: case ID, or indicators")
            }
            let code = what.count == 2 ? TrackingCode.caseID(what[1]) : nil
            let requested = self.position
            let output = try await withDatabase { store, client, logger in
                let position = try await ConcordProjections.AsOf.position(requested, orTime: time, store: store)
                guard let code else {
                    let document = try await ConcordProjections.AsOf.indicators(
                        position: position, time: time, client: client, store: store, logger: logger)
                    return String(decoding: document, as: UTF8.self)
                }
                guard let view = try await ConcordProjections.AsOf.caseView(id: code, position: position, store: store)
                else {
                    throw ValidationFailure(
                        message: "no complaint, appeal or referral \(code) existed at position \(position)")
                }
                return String(decoding: CanonicalJSON.encode(view), as: UTF8.self)
            }
            print(output)
        }

    }
}

/// Runs `body` with the database (the private cluster unless `DATABASE_URL` is set), connected as the service role
/// or, with `owner`, as the owner (migrating first when `migrating`); any failure becomes a one-line message.
func withDatabase<T: Sendable>(
    owner: Bool = false, migrating: Bool = false,
    _ body: @Sendable (EventStore, PostgresClient, Logger) async throws -> T
) async throws -> T {
    let logger = makeLogger("concord")
    let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
    defer { bootstrap.stopClusterIfStarted() }
    if migrating { _ = try await failing { try await bootstrap.migrate(logger: logger) } }
    let settings = owner ? bootstrap.settings.owner : bootstrap.settings.service
    return try await failing {
        try await PostgresClient.withRunning(settings, logger: logger) { client in
            try await body(EventStore(client: client, logger: logger), client, logger)
        }
    }
}

/// Runs `body` while `store`'s writer runs (appends need it).
func withRunningStore<T: Sendable>(_ store: EventStore, _ body: @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// `failing` for synchronous work.
func failingNow<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CustomStringConvertible & Error {
        throw ValidationFailure(message: error.description)
    }
}

extension Duration {
    var seconds: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}
