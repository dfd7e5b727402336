import Foundation

/// A process named by its pid and its start time (field 22 of /proc/<pid>/stat, in clock ticks
/// since boot). A pid alone is reused once its process is gone and reaped; the pair is not, so a
/// worker the listener did not start (an adopted one) is signalled only while it is still that
/// process.
struct ProcessIdentity: Sendable, Equatable {
    let pid: pid_t
    let startTime: UInt64

    /// The process with `pid` now, or nil when there is none (or only a zombie).
    static func of(_ pid: pid_t) -> ProcessIdentity? {
        guard pid > 0, let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/stat") else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19, fields[0] != "Z", let start = UInt64(fields[19]) else { return nil }
        return ProcessIdentity(pid: pid, startTime: start)
    }

    /// Whether the process is still the one this identity was taken from.
    var isCurrent: Bool { Self.of(pid) == self }

    /// Sends `signal` only to this very process; false when it is gone (nothing was sent).
    @discardableResult
    func send(_ signal: Int32) -> Bool {
        guard isCurrent else { return false }
        return kill(pid, signal) == 0
    }
}
