import Foundation

/// The whole machine's CPU counters from /proc/stat: how busy both cores were over a window,
/// whoever used them (our processes, the bench's load, neighbours). A latency tail queues on this.
struct MachineBusy {
    var busy: UInt64
    var total: UInt64

    static func sample() -> MachineBusy? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        // user nice system idle iowait irq softirq steal: idle and iowait are the idle time.
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 8 else { return nil }
        let total = values.prefix(8).reduce(0, &+)
        let idle = values[3] &+ values[4]
        return MachineBusy(busy: total &- idle, total: total)
    }

    func fraction(since earlier: MachineBusy) -> Double? {
        guard total > earlier.total, busy >= earlier.busy else { return nil }
        return Double(busy - earlier.busy) / Double(total - earlier.total)
    }
}
