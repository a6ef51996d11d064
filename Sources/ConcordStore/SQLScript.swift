/// Splits a migration file into statements at top-level semicolons. PostgresNIO sends one statement per query, so
/// the migrator runs them one by one; quotes, dollar-quoted bodies and comments are skipped over, not split.
public enum SQLScript {
    public static func statements(_ script: String) -> [String] {
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0
        func flush(upTo end: Int) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            if !Self.isBlank(text) { statements.append(text.trimmingWhitespace()) }
        }
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let quote = bytes[index]
                index += 1
                while index < bytes.count, bytes[index] != quote { index += 1 }
                index += 1
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index += 2
                while index + 1 < bytes.count,
                    !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/"))
                {
                    index += 1
                }
                index += 2
            case UInt8(ascii: "$"):
                // A dollar quote: $$ or $tag$, closed by the same tag.
                var end = index + 1
                while end < bytes.count, bytes[end] == UInt8(ascii: "_") || isAlphanumeric(bytes[end]) { end += 1 }
                guard end < bytes.count, bytes[end] == UInt8(ascii: "$") else {
                    index += 1
                    continue
                }
                let tag = Array(bytes[index...end])
                index = end + 1
                while index < bytes.count, !bytes[index...].starts(with: tag) { index += 1 }
                index += tag.count
            case UInt8(ascii: ";"):
                flush(upTo: index)
                index += 1
                start = index
            default:
                index += 1
            }
        }
        if start < bytes.count { flush(upTo: bytes.count) }
        return statements
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// True when the text holds only whitespace and comments.
    private static func isBlank(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { line in
            let trimmed = line.trimmingWhitespace()
            return trimmed.isEmpty || trimmed.hasPrefix("--")
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
