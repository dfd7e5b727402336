import Foundation
import Shared

/// A dedicated OS thread that can be joined. Load generators block in read()/write(), which must
/// not happen on GCD's or Swift's shared pools (they would starve them on 2 cores).
final class JoinableThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let thread = Thread {
            ThreadName.setCurrent(name)
            body()
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    func join() { done.wait() }

    /// True if the thread finished within `seconds`.
    func join(timeout seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
}

/// A value shared between bench threads under a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }

    var current: Value { withLock { $0 } }
}
