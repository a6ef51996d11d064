import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import Testing

/// The examples of docs/event-log.md and docs/audit.md, read from the docs themselves, checked as a reader would
/// use them: the worked example loaded into a real log and verified, the checkpoint example signed again.
@Suite struct DocumentedExampleTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs")

    /// The text after `prefix` on the one line of `file` that starts with it.
    static func line(_ prefix: String, in file: String) throws -> String {
        let text = try String(contentsOf: Self.docs.appendingPathComponent(file), encoding: .utf8)
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(prefix) }
        guard lines.count == 1, let line = lines.first else { throw MissingBlock() }
        return String(line.dropFirst(prefix.count))
    }

    @Test func theWorkedExampleIsALogThatVerifies() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        var statements: [String] = []
        for position in 1...2 {
            let canonical = try Self.line("canonical(\(position)) = ", in: "event-log.md")
            let hash = try Self.line("hash(\(position))      = ", in: "event-log.md")
            #expect(!canonical.contains("$doc$") && hash.allSatisfy(\.isHexDigit))
            // Every column from the canonical bytes, as the writer would store them; the hash as the docs print it.
            statements.append(
                """
                INSERT INTO events (position, stream_type, stream_id, stream_version, event_id, event_type,
                                    schema_version, payload, metadata, recorded_at, canonical, hash)
                SELECT (j->>'position')::bigint, j->>'stream_type', j->>'stream_id', (j->>'stream_version')::bigint,
                       (j->>'event_id')::uuid, j->>'event_type', (j->>'schema_version')::integer, j->'payload',
                       j->'metadata', (j->>'recorded_at')::timestamptz, c, decode('\(hash)', 'hex')
                FROM (SELECT convert_to($doc$\(canonical)$doc$, 'UTF8') AS c) bytes,
                     LATERAL (SELECT convert_from(bytes.c, 'UTF8')::jsonb AS j) record
                """)
        }
        try await asOwner(settings, statements)
        try await withStore(settings: settings) { store in
            let report = try await store.verify(checkStreams: true)
            #expect(report.problem == nil, "\(String(describing: report.problem))")
            #expect(report.eventsChecked == 2)
            #expect(report.lastHash.hexString == (try Self.line("hash(2)      = ", in: "event-log.md")))
        }
    }

    @Test func theCheckpointExampleIsSignedByTheExampleKey() throws {
        let text = try String(contentsOf: Self.docs.appendingPathComponent("audit.md"), encoding: .utf8)
        func quoted(after marker: String) throws -> String {
            guard let start = text.range(of: marker),
                let open = text.range(of: "`", range: start.upperBound..<text.endIndex),
                let close = text.range(of: "`", range: open.upperBound..<text.endIndex)
            else { throw MissingBlock() }
            return String(text[open.upperBound..<close.lowerBound])
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concord-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (privateFile, publicFile) = (
            directory.appendingPathComponent("example.key").path, directory.appendingPathComponent("example.pub").path
        )
        try (quoted(after: "whose private key file holds") + "\n").write(
            toFile: privateFile, atomically: true, encoding: .utf8)
        try (quoted(after: "and public key file") + "\n").write(toFile: publicFile, atomically: true, encoding: .utf8)
        let documented = try Self.line(#"{"at":"2026-11-25T10:00:00.000000Z","#, in: "audit.md")
        let json = try JSONParser.parse(Array((#"{"at":"2026-11-25T10:00:00.000000Z","# + documented).utf8))
        guard let checkpoint = Checkpoint(json: json) else {
            Issue.record("the documented checkpoint does not read")
            return
        }
        #expect(checkpoint.hash.hexString == (try Self.line("hash(2)      = ", in: "event-log.md")))
        #expect(checkpoint.isSigned(by: try CheckpointKeys.publicKey(file: publicFile)))
        let again = try Checkpoint.sign(
            position: checkpoint.position, hash: checkpoint.hash, at: checkpoint.at,
            key: try CheckpointKeys.privateKey(file: privateFile))
        #expect(again == checkpoint)
        #expect(CanonicalJSON.encode(again.json) == CanonicalJSON.encode(json))
        let message = String(
            decoding: Checkpoint.message(position: 2, hash: checkpoint.hash, at: checkpoint.at), as: UTF8.self)
        #expect(text.contains(message.replacingOccurrences(of: "\n", with: "\\n")))
    }
}
