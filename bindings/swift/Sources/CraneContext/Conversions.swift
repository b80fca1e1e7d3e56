// Shared helpers of the hand-written layer: RFC 3339 timestamps to `Date`,
// `Encodable` values to JSON text, and generated errors to `CraneError`.
//
// The generated records carry timestamps as RFC 3339 text and JSON as text so
// every host language can read them; this layer is where Swift gets `Date`
// and `Codable` instead. It converts and never decides: validation, queueing
// and retries stay in the Rust library.
import CraneContextBindings
import Foundation

enum Timestamp {
    /// Parses `2026-01-31T12:00:00.123456789Z` (any number of fractional
    /// digits, `Z` or `±HH:MM`): what the library writes. Foundation's
    /// `ISO8601DateFormatter` accepts at most three fractional digits on some
    /// platforms, so the fraction is read here.
    static func parse(_ text: String) -> Date? {
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var n = 0
            for c in chars[from..<(from + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        guard chars.count >= 20,
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < chars.count, chars[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < chars.count, chars[i] >= 48, chars[i] <= 57 {
                fraction += Double(chars[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        guard i < chars.count else { return nil }
        if chars[i] == UInt8(ascii: "Z") {
            i += 1
        } else if chars[i] == UInt8(ascii: "+") || chars[i] == UInt8(ascii: "-") {
            guard let h = number(i + 1, 2), let m = number(i + 4, 2) else { return nil }
            offset = (h * 3600 + m * 60) * (chars[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == chars.count else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let base = calendar.date(from: parts) else { return nil }
        return base.addingTimeInterval(fraction - Double(offset))
    }

    /// A timestamp the library wrote; the Unix epoch if it is unreadable
    /// (it never is: the library writes only RFC 3339).
    static func required(_ text: String) -> Date {
        parse(text) ?? Date(timeIntervalSince1970: 0)
    }

    static func optional(_ text: String?) -> Date? {
        text.flatMap(parse)
    }

    /// A `Date` as the library reads one: `2026-01-31T12:00:00.123Z` (UTC,
    /// milliseconds).
    static func format(_ date: Date) -> String {
        let millis = (date.timeIntervalSince1970 * 1000).rounded()
        let seconds = (millis / 1000).rounded(.down)
        let whole = Date(timeIntervalSince1970: seconds)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: whole)
        func pad(_ n: Int?, _ width: Int) -> String {
            let digits = String(n ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let ms = Int(millis - seconds * 1000)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T"
            + "\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(ms, 3))Z"
    }
}

enum JSON {
    /// An `Encodable` value as compact JSON text; an encoding failure is
    /// `CraneError.invalidInput` naming `field`.
    static func text<T: Encodable>(_ value: T, field: String) throws -> String {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw CraneError.invalidInput(
                CraneError.Details(message: "invalid \(field): cannot be encoded as JSON: \(error)", correlationId: nil),
                field: field)
        }
    }

    static func optionalText<T: Encodable>(_ value: T?, field: String) throws -> String? {
        try value.map { try text($0, field: field) }
    }

    /// Decodes JSON text the library returned into `T`.
    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// Runs a call of the generated bindings, throwing `CraneError` instead of
/// the generated error type.
func bridged<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as CraneContextBindings.CraneError {
        throw CraneError(error)
    }
}

/// The synchronous form of `bridged`, for the few calls that do no I/O worth awaiting.
func bridgedSync<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CraneContextBindings.CraneError {
        throw CraneError(error)
    }
}
