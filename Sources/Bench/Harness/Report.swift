import Foundation

/// The human table (one row per figure, one column per run, then the median) and the final
/// machine-readable `RESULT mode=... key=value ...` line.
struct Report {
    let mode: String
    private var rows: [(name: String, values: [Double], unit: String)] = []
    private var notes: [String] = []

    init(mode: String) { self.mode = mode }

    mutating func add(_ name: String, _ value: Double, unit: String = "") {
        if let index = rows.firstIndex(where: { $0.name == name }) {
            rows[index].values.append(value)
        } else {
            rows.append((name, [value], unit))
        }
    }

    mutating func note(_ text: String) { notes.append(text) }

    func median(_ name: String) -> Double {
        Stats.median(rows.first { $0.name == name }?.values ?? [])
    }

    func lastValue(_ name: String) -> Double {
        rows.first { $0.name == name }?.values.last ?? .nan
    }

    func printTable() {
        let runs = rows.map(\.values.count).max() ?? 0
        let nameWidth = max(24, (rows.map(\.name.count).max() ?? 0) + 2)
        var header = "mode=\(mode)".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
        for run in 0..<runs { header += "run\(run + 1)".leftPadded(12) }
        header += "median".leftPadded(12) + "  unit"
        print(header)
        print(String(repeating: "-", count: header.count))
        for row in rows {
            var line = row.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            for run in 0..<runs { line += (run < row.values.count ? Self.format(row.values[run]) : "-").leftPadded(12) }
            line += Self.format(Stats.median(row.values)).leftPadded(12) + "  " + row.unit
            print(line)
        }
        for note in notes { print("note: \(note)") }
    }

    /// `keys` maps RESULT keys to row names; their medians are printed, plus `extra` verbatim.
    func printResult(_ keys: [(key: String, row: String)], extra: [(String, String)] = []) {
        var line = "RESULT mode=\(mode)"
        for (key, value) in extra { line += " \(key)=\(value)" }
        for (key, row) in keys { line += " \(key)=\(Self.format(median(row)))" }
        print(line)
        fflush(nil)  // nil flushes every stream; `stdout` is shared mutable state to Swift 6
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value == value.rounded(), abs(value) >= 100 { return String(Int(value)) }
        if abs(value) >= 100 { return String(format: "%.0f", value) }
        if abs(value) >= 1 { return String(format: "%.2f", value) }
        return String(format: "%.4f", value)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? " " + self : String(repeating: " ", count: width - count) + self
    }
}
