/// Why a text is not an RFC 3339 date or time, said so that the sender knows what to fix.
public struct RFC3339Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

extension Timestamp {
    /// Parses an RFC 3339 `full-date` (`2026-11-01`, taken as midnight UTC) or `date-time`
    /// (`2026-11-01T09:30:00Z`, `2026-11-01T12:30:00.5+03:00`) strictly: every field in range, the day one the
    /// month has, and a time zone (`Z` or `±hh:mm`) on every time. Fractions finer than a microsecond are cut.
    public static func parseRFC3339(_ text: String) -> Result<Timestamp, RFC3339Error> {
        var reader = RFC3339Reader(bytes: Array(text.utf8))
        do {
            return .success(try reader.timestamp())
        } catch {
            return .failure(error)
        }
    }
}

/// Reads the grammar of RFC 3339 section 5.6 byte by byte.
private struct RFC3339Reader {
    let bytes: [UInt8]
    var index = 0

    mutating func timestamp() throws(RFC3339Error) -> Timestamp {
        let (year, month, day) = try self.date()
        let days = Timestamp.days(fromCivil: year, month, day)
        guard self.index < self.bytes.count else {
            return Timestamp(microsecondsSinceEpoch: days * 86_400_000_000)
        }
        guard self.take("T") || self.take("t") else {
            throw Self.failure("a date is followed by T and a time, as in 2026-11-01T09:30:00Z")
        }
        let (secondOfDay, fraction) = try self.time()
        let offset = try self.offset()
        guard self.index == self.bytes.count else { throw Self.failure("unexpected text after the time zone") }
        let seconds = days * 86_400 + secondOfDay - offset
        return Timestamp(microsecondsSinceEpoch: seconds * 1_000_000 + fraction)
    }

    private mutating func date() throws(RFC3339Error) -> (Int64, Int64, Int64) {
        let shape = "a date is written YYYY-MM-DD, as in 2026-11-01"
        guard let year = self.digits(4), self.take("-"), let month = self.digits(2), self.take("-"),
            let day = self.digits(2)
        else { throw Self.failure(shape) }
        guard (1...12).contains(month) else { throw Self.failure("month \(month) does not exist") }
        let length = Self.daysIn(month: month, year: year)
        guard (1...length).contains(day) else {
            throw Self.failure("day \(day) does not exist in \(Self.pad(year, 4))-\(Self.pad(month, 2))")
        }
        return (year, month, day)
    }

    /// Seconds since midnight and microseconds.
    private mutating func time() throws(RFC3339Error) -> (Int64, Int64) {
        guard let hour = self.digits(2), self.take(":"), let minute = self.digits(2), self.take(":"),
            let second = self.digits(2)
        else { throw Self.failure("a time is written hh:mm:ss, as in 09:30:00") }
        guard hour < 24 else { throw Self.failure("hour \(hour) does not exist (00 to 23)") }
        guard minute < 60 else { throw Self.failure("minute \(minute) does not exist (00 to 59)") }
        guard second < 60 else { throw Self.failure("second \(second) is not accepted (00 to 59)") }
        var fraction: Int64 = 0
        if self.take(".") {
            var count = 0
            while let digit = self.digits(1) {
                if count < 6 { fraction = fraction * 10 + digit }
                count += 1
            }
            guard count > 0 else { throw Self.failure("a decimal point needs digits after it") }
            for _ in count..<max(count, 6) { fraction *= 10 }
        }
        return (hour * 3600 + minute * 60 + second, fraction)
    }

    /// The offset east of UTC, in seconds.
    private mutating func offset() throws(RFC3339Error) -> Int64 {
        if self.take("Z") || self.take("z") { return 0 }
        let sign: Int64
        if self.take("+") {
            sign = 1
        } else if self.take("-") {
            sign = -1
        } else {
            throw Self.failure("a time needs its time zone: Z or an offset such as +03:00")
        }
        guard let hours = self.digits(2), self.take(":"), let minutes = self.digits(2) else {
            throw Self.failure("an offset is written +hh:mm or -hh:mm")
        }
        guard hours < 24, minutes < 60 else {
            throw Self.failure("offset \(Self.pad(hours, 2)):\(Self.pad(minutes, 2)) does not exist (at most 23:59)")
        }
        return sign * (hours * 3600 + minutes * 60)
    }

    private mutating func take(_ character: Unicode.Scalar) -> Bool {
        guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: character) else { return false }
        self.index += 1
        return true
    }

    /// Exactly `count` ASCII digits, or nil (and nothing read).
    private mutating func digits(_ count: Int) -> Int64? {
        guard self.index + count <= self.bytes.count else { return nil }
        var value: Int64 = 0
        for byte in self.bytes[self.index..<self.index + count] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        self.index += count
        return value
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func failure(_ reason: String) -> RFC3339Error { RFC3339Error(description: reason) }
}
