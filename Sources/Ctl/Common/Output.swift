import Foundation

/// How results reach the operator: aligned text tables for people, JSON for scripts (`--json`).
enum Output {
    /// Columns padded to their widest cell; the last column is not padded so lines carry no
    /// trailing blanks.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// One JSON document on stdout, keys sorted so scripts and diffs see a stable shape.
    /// A typed value as a JSONSerialization object, to embed it in a printed object.
    static func jsonObject(_ value: some Encodable) -> Any? {
        (try? JSONEncoder().encode(value)).flatMap { try? JSONSerialization.jsonObject(with: $0) }
    }

    static func printJSON(_ object: Any) throws {
        let data = try JSONSerialization.data(
            withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    /// An age in the largest unit that keeps it short (`42s`, `3m12s`, `5h03m`, `2d04h`).
    static func age(sinceMilliseconds since: Int64, now: Date = Date()) -> String {
        let seconds = max(0, Int64(now.timeIntervalSince1970 * 1000) - since) / 1000
        return duration(seconds: seconds)
    }

    static func duration(seconds: Int64) -> String {
        switch seconds {
        case ..<60: "\(seconds)s"
        case ..<3600: "\(seconds / 60)m\(String(format: "%02d", seconds % 60))s"
        case ..<86400: "\(seconds / 3600)h\(String(format: "%02d", seconds % 3600 / 60))m"
        default: "\(seconds / 86400)d\(String(format: "%02d", seconds % 86400 / 3600))h"
        }
    }

    /// `2026-11-27T08:01:02.345Z` from unix milliseconds, as the event stream's entry ids carry them.
    static func timestamp(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
