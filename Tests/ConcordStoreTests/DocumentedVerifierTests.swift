import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import NIOCore
import PostgresNIO
import Testing

struct MissingBlock: Error {}

/// Runs the Python verifier printed in docs/event-log.md against a real log, as an outside auditor would.
@Suite struct DocumentedVerifierTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/event-log.md")

    static func script() throws -> String {
        let text = try String(contentsOf: Self.docs, encoding: .utf8)
        guard let start = text.range(of: "```python verify-chain\n"),
            let end = text.range(of: "\n```", range: start.upperBound..<text.endIndex)
        else { throw MissingBlock() }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// The export the docs describe: position, canonical hex, hash hex.
    static func export(_ settings: DatabaseSettings) async throws -> [String] {
        try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
            let rows = try await client.query(
                "SELECT position, encode(canonical, 'hex'), encode(hash, 'hex') FROM events ORDER BY position")
            var lines: [String] = []
            for try await (position, canonical, hash) in rows.decode((Int64, String, String).self) {
                lines.append("\(position) \(canonical) \(hash)")
            }
            return lines
        }
    }

    static func runPython(script: String, lines: [String]) throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "concord-verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scriptFile = directory.appendingPathComponent("verify_chain.py")
        let exportFile = directory.appendingPathComponent("events.txt")
        try script.write(to: scriptFile, atomically: true, encoding: .utf8)
        try (lines.joined(separator: "\n") + "\n").write(to: exportFile, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptFile.path, exportFile.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func thePythonVerifierAgreesWithTheLog() async throws {
        let script = try Self.script()
        try await withStore { store, settings in
            for index in 0..<40 {
                let payload: JSONValue = [
                    "description": "Paiement en retard — \"urgent\"\n\u{1}", "household_size": .integer(Int64(index)),
                    "tags": ["a/b", "é", "😀"],
                ]
                _ = try await store.append(
                    to: StreamName(type: "complaint", id: "c-\(index % 7)"), expectedVersion: .any,
                    events: [EventData(type: "Noted", payload: payload, metadata: EventMetadata(actor: "clerk"))])
            }
            let lines = try await Self.export(settings)
            let head = try await store.head()
            let sound = try Self.runPython(script: script, lines: lines)
            #expect(sound.status == 0)
            #expect(sound.output.contains("sound: 40 events, head \(head.hash.hexString)"))

            var tampered = lines
            tampered[16] = tampered[16].replacingOccurrences(of: "636c65726b", with: "636c65726a")  // "clerk" → "clerj"
            #expect(tampered[16] != lines[16])
            let edited = try Self.runPython(script: script, lines: tampered)
            #expect(edited.status == 1)
            #expect(edited.output.contains("position 17"))

            var shortened = lines
            shortened.remove(at: 30)
            let deleted = try Self.runPython(script: script, lines: shortened)
            #expect(deleted.output.contains("position 31: missing"))
        }
    }
}
