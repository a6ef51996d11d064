// Build tool: writes a Swift file that embeds the given SQL migration files, so the binary needs no checkout.
// Usage: EmbedSQL OUTPUT.swift FILE.sql...
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedSQL OUTPUT.swift FILE.sql...\n".utf8))
    exit(2)
}
var lines = [
    "// Generated at build time from sql/ by the EmbedMigrations plugin. Do not edit.",
    "enum EmbeddedMigrations {",
    "    /// File name and base64 of the file's bytes, in file-name order.",
    "    static let files: [(name: String, base64: String)] = [",
]
for path in arguments.dropFirst().sorted() {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("EmbedSQL: cannot read \(path)\n".utf8))
        exit(1)
    }
    let name = URL(fileURLWithPath: path).lastPathComponent
    lines.append("        (\"\(name)\", \"\(data.base64EncodedString())\"),")
}
lines += ["    ]", "}", ""]
do {
    try lines.joined(separator: "\n").write(toFile: output, atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("EmbedSQL: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
