import Foundation

/// The kernel's names of this test process's threads (what `top -H` and `perf` show).
public enum ThreadNames {
    /// Every thread of the process, from `/proc/self/task/*/comm`.
    public static func all() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { comm("/proc/self/task/\($0)/comm") }
    }

    /// The calling thread's.
    public static func current() -> String { comm("/proc/thread-self/comm") ?? "" }

    private static func comm(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }
}
