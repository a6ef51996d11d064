import ArgumentParser
import ConcordCore
import ConcordStore
import Crypto
import Foundation

struct Subject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Data subjects: show, set or release a legal hold, erase personal data; make a master key.",
        subcommands: [Show.self, Hold.self, Release.self, Erase.self, Keygen.self, RotateMasterKey.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a subject's status and history.")
        @Argument(help: "The subject: the id of the case that first recorded the person's details.") var id: String

        func run() async throws {
            let id = self.id
            let status = try await withDatabase(migrating: true) { store, client, logger in
                try await Subject.refusing(id) {
                    try await DataSubjects(store: store, client: client, logger: logger).status(id)
                }
            }
            Subject.print(id, status)
        }
    }

    struct Hold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a legal hold: erasure is refused until released.")
        @Argument(help: "The subject.") var id: String
        @Option(help: "Why the data must be kept (case number, court order).") var reason: String
        @Option(help: "Who asks (recorded as the actor).") var by: String = "cli"

        func run() async throws {
            let reason = self.reason
            try await Subject.run(self.id, actor: self.by) { .setLegalHold(reason: reason, at: $0) }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a legal hold.")
        @Argument(help: "The subject.") var id: String
        @Option(help: "Why the hold ends.") var reason: String
        @Option(help: "Who asks (recorded as the actor).") var by: String = "cli"

        func run() async throws {
            let reason = self.reason
            try await Subject.run(self.id, actor: self.by) { .releaseLegalHold(reason: reason, at: $0) }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a subject's personal data for good: destroys their data key and records who, why, and "
                + "under which law.")
        @Argument(help: "The subject.") var id: String
        @Option(help: "Why (e.g. the request's reference).") var reason: String
        @Option(help: "The legal basis (e.g. 'Data Protection Act s.25').") var legalBasis: String
        @Option(help: "Who asks (recorded as the actor).") var by: String = "cli"

        func run() async throws {
            let (reason, legalBasis) = (self.reason, self.legalBasis)
            try await Subject.run(self.id, actor: self.by) {
                .erase(reason: reason, legalBasis: legalBasis, at: $0)
            }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new master key (base64 of 32 random bytes) to a file readable by its owner only.")
        @Argument(help: "The file to create; refuses to overwrite one.") var file: String

        func run() async throws {
            // Created with O_EXCL and mode 0600 in one call: never over an existing key, never readable by others.
            let descriptor = open(self.file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else {
                throw ValidationFailure(
                    message: errno == EEXIST
                        ? "\(self.file) exists: a master key is never overwritten" : "cannot create \(self.file)")
            }
            let text = Array((PersonalDataVault.newMasterKeyText() + "\n").utf8)
            let written = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard close(descriptor) == 0, written == text.count else {
                throw ValidationFailure(message: "cannot write \(self.file)")
            }
            Swift.print("wrote a master key to \(self.file); set CONCORD_MASTER_KEY_FILE=\(self.file)")
        }
    }

    struct RotateMasterKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-wrap every data key under a new master key (the current one from CONCORD_MASTER_KEY_FILE "
                + "or CONCORD_MASTER_KEY), in one transaction. Stop the service first; restart it with the new key.")
        @Option(help: "The new master key's file (`concord subject keygen`).") var newKeyFile: String

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let current = try failingNow { try PersonalDataVault.masterKey(environment: environment) }
            let new = try failingNow {
                try PersonalDataVault.masterKey(environment: ["CONCORD_MASTER_KEY_FILE": self.newKeyFile])
            }
            let currentBytes = current.withUnsafeBytes { [UInt8]($0) }
            let newBytes = new.withUnsafeBytes { [UInt8]($0) }
            guard currentBytes != newBytes else {
                throw ValidationFailure(message: "the new master key is the current one")
            }
            let count = try await withDatabase(owner: true, migrating: true) { _, client, logger in
                let vault = PersonalDataVault(client: client, master: SymmetricKey(data: currentBytes), logger: logger)
                return try await vault.rotateMasterKey(to: SymmetricKey(data: newBytes), using: client)
            }
            Swift.print("re-wrapped \(count) data keys under the new master key; start the service with it now")
        }
    }

    static func run(
        _ id: String, actor: String, _ command: @escaping @Sendable (Timestamp) -> DataSubject.Command
    ) async throws {
        let (status, changed) = try await withDatabase(migrating: true) { store, client, logger in
            try await withRunningStore(store) {
                try await Subject.refusing(id) {
                    try await DataSubjects(store: store, client: client, logger: logger).run(
                        id, metadata: EventMetadata(actor: actor, role: "admin")
                    ) { _ in command(WallClock.system.now()) }
                }
            }
        }
        if !changed { Swift.print("nothing to do: already erased") }
        Subject.print(id, status)
    }

    /// Runs `body`, turning a refusal into a one-line message.
    static func refusing<T>(_ id: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch DataSubjects.Refusal.unknownSubject {
            throw ValidationFailure(message: "no personal data was recorded for subject \(id)")
        } catch let rejection as Rejection {
            throw ValidationFailure(message: rejection.reason)
        }
    }

    static func print(_ id: String, _ status: DataSubjects.Status) {
        let state = status.loaded.state
        var line =
            "subject \(id): \(state?.status.rawValue ?? "active"), data key \(status.keyIsLive ? "live" : "destroyed")"
        if let reason = state?.holdReason { line += ", held: \(reason)" }
        Swift.print(line)
        for event in status.loaded.events {
            Swift.print("  \(event.recordedAt.rfc3339)  \(event.type)  by \(event.metadata.actor ?? "?")")
        }
    }
}
