import Foundation
import Testing

@testable import Shared

/// Threads carry their names to the kernel, where `top -H` and `perf` read them.
@Suite struct ThreadNameTests {
    @Test func aThreadNamesItselfAndLongNamesAreCutAt15Bytes() {
        let names = Names()
        let done = DispatchSemaphore(value: 0)
        Thread {
            ThreadName.setCurrent("mimic-test")
            names.append(ThreadName.current)
            ThreadName.setCurrent("a-name-longer-than-fifteen-bytes")
            names.append(ThreadName.current)
            done.signal()
        }.start()
        done.wait()
        #expect(names.values == ["mimic-test", "a-name-longer-t"])
    }

    /// A Redis client's owner thread (its hiredis calls, and the worker's scheduler loop) is named
    /// before its init returns.
    @Test func theRedisOwnerThreadIsNamed() {
        let owner = RedisOwnerThread(name: "owner-named")
        defer { owner.stop() }
        #expect(Self.threadNames().contains("owner-named"))
    }

    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap {
            (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .newlines)
        }
    }
}

private final class Names: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [String] = []

    func append(_ name: String) {
        lock.lock()
        values.append(name)
        lock.unlock()
    }
}
