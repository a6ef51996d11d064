import ArgumentParser
import ConcordCore
import ConcordStore
import Foundation
import PostgresNIO
import Yams

struct Reference: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage reference data: programmes, administrative areas, offices and service types.",
        subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a reference file (JSON, or YAML for .yaml/.yml), appending only what is new or changed.")

        @Argument(help: "The reference file; see docs/operations.md for its format.")
        var file: String

        func run() async throws {
            let file = try readReferenceFile(self.file)
            let metadata = EventMetadata(actor: "cli:\(NSUserName())", role: Role.admin.rawValue)
            let outcome = try await withReferenceData { data, store in
                do {
                    return ImportOutcome.imported(try await data.importFile(file, store: store, metadata: metadata))
                } catch let invalid as ReferenceFileInvalid {
                    return ImportOutcome.invalid(invalid.problems)
                }
            }
            switch outcome {
            case .imported(let count):
                print("imported \(count) definitions (\(file.definitionCount - count) unchanged)")
            case .invalid(let problems):
                for problem in problems { printToStandardError(problem.description) }
                throw ExitCode.failure
            }
        }
    }
}

private enum ImportOutcome: Sendable {
    case imported(Int)
    case invalid([FieldProblem])
}

/// Reads a reference file: YAML when its extension is .yaml or .yml, otherwise JSON. A file that cannot be read or
/// parsed becomes a one-line message and exit status 1.
func readReferenceFile(_ path: String) throws -> ReferenceFile {
    let url = URL(fileURLWithPath: path)
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw ValidationFailure(message: "cannot read \(path): \(error.localizedDescription)")
    }
    do {
        if ["yaml", "yml"].contains(url.pathExtension.lowercased()) {
            return try YAMLDecoder().decode(ReferenceFile.self, from: data)
        }
        return try JSONDecoder().decode(ReferenceFile.self, from: data)
    } catch let error as DecodingError {
        throw ValidationFailure(message: "\(path): \(describe(error))")
    } catch {
        throw ValidationFailure(message: "\(path): \(error)")
    }
}

/// A decoding error as `path: what is wrong`, the path spelled like validation problems (`areas[2].level`).
private func describe(_ error: DecodingError) -> String {
    func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.reduce("") { path, key in
            if let index = key.intValue { return path + "[\(index)]" }
            return path.isEmpty ? key.stringValue : path + "." + key.stringValue
        }
    }
    func located(_ codingPath: [any CodingKey], _ reason: String) -> String {
        codingPath.isEmpty ? reason : path(codingPath) + ": " + reason
    }
    switch error {
    case .keyNotFound(let key, let context): return located(context.codingPath + [key], "is missing")
    case .typeMismatch(let type, let context): return located(context.codingPath, "must be \(expected(type))")
    case .valueNotFound(let type, let context): return located(context.codingPath, "must be \(expected(type))")
    case .dataCorrupted(let context): return located(context.codingPath, context.debugDescription)
    @unknown default: return String(describing: error)
    }
}

/// What a value of `type` looks like in the file.
private func expected(_ type: Any.Type) -> String {
    let name = String(describing: type)
    if type == String.self { return "a string" }
    if type == Int.self { return "an integer" }
    if type == Bool.self { return "true or false" }
    if name.hasPrefix("Array<") { return "a list" }
    return "an object"
}

private func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Runs `body` with reference data loaded from the log and a running event store on a migrated database (the
/// private cluster unless DATABASE_URL is set); errors become one-line messages and exit status 1.
private func withReferenceData<T: Sendable>(
    _ body: @escaping @Sendable (ReferenceData, EventStore) async throws -> T
) async throws -> T {
    let logger = makeLogger("concord")
    let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
    defer { bootstrap.stopClusterIfStarted() }
    return try await failing {
        _ = try await bootstrap.migrate(logger: logger)
        return try await PostgresClient.withRunning(bootstrap.settings.service, logger: logger) { client in
            let store = EventStore(client: client, logger: logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                let data = ReferenceData()
                try await data.load(from: store)
                return try await body(data, store)
            }
        }
    }
}
