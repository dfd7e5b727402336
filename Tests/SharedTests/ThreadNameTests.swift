import Foundation
import TestSupport
import Testing

@testable import Shared

/// Threads carry their names to the kernel, where `top -H` and `perf` read them.
@Suite struct ThreadNameTests {
    @Test func aThreadNamesItselfAndLongNamesAreCutAt15Bytes() {
        let names = Names()
        let done = DispatchSemaphore(value: 0)
        Thread {
            ThreadName.setCurrent("mimic-test")
            names.append(ThreadNames.current())
            ThreadName.setCurrent("a-name-longer-than-fifteen-bytes")
            names.append(ThreadNames.current())
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
        #expect(ThreadNames.all().contains("owner-named"))
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
