import Foundation
import Synchronization

/// How long one thread wakeup takes while the fleet carries the run's load: every millisecond a
/// sender thread writes its clock into a pipe, and a receiver blocked on the pipe takes the
/// difference as soon as it runs again. That is the wait every hop on a message's path pays on
/// top of its work, so its tail bounds what the trigger's tail can be on this machine at this
/// load, whatever our code does. `WakeupFloor` times the same on an idle machine.
///
/// The probe adds a thousand wakeups a second on each side, a few percent of one core.
final class LoadedWakeups: Sendable {
    private let samples = Locked<[UInt64]>([])
    private let stopping = StopFlag()
    private let sender: JoinableThread
    private let receiver: JoinableThread
    private let fds: (read: Int32, write: Int32)

    init(intervalMicros: UInt32 = 1_000) throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw BenchFailure("loaded wakeups: pipe: errno \(errno)") }
        let fds = (read: ends[0], write: ends[1])
        self.fds = fds
        let samples = self.samples
        let stopping = self.stopping
        receiver = JoinableThread("bench-wakeup-recv") {
            var sent: UInt64 = 0
            var kept: [UInt64] = []
            kept.reserveCapacity(65_536)
            while withUnsafeMutableBytes(of: &sent, { read(fds.read, $0.baseAddress, 8) }) == 8 {
                // Zero is the sender's last word: nothing more comes.
                if sent == 0 { break }
                let now = monotonicNanos()
                kept.append(now > sent ? now - sent : 0)
            }
            samples.withLock { $0 = kept }
        }
        sender = JoinableThread("bench-wakeup-send") {
            while !stopping.raised.load(ordering: .relaxed) {
                usleep(intervalMicros)
                var now = monotonicNanos()
                guard withUnsafeBytes(of: &now, { write(fds.write, $0.baseAddress, 8) }) == 8 else { break }
            }
            var last: UInt64 = 0
            _ = withUnsafeBytes(of: &last) { write(fds.write, $0.baseAddress, 8) }
        }
    }

    /// Stops both threads and returns each wakeup's delay, in nanoseconds.
    func stop() -> [UInt64] {
        stopping.raised.store(true, ordering: .relaxed)
        sender.join()
        receiver.join()
        close(fds.read)
        close(fds.write)
        return samples.current
    }
}

extension LoadedWakeups {
    /// The threads a trigger wakes on its way from the bench's write to the subscriber's read:
    /// the listener's loop of the sender's connection, the app's journal writer, the loop of the
    /// app's worker link, the worker's socket loop, its scheduler loop (which runs on its Redis
    /// thread), `redis-server`, the bench's subscriber.
    static let triggerPathHops = 7

    /// Sums of `hops` wakeups drawn at random from `samples`: what a path made of nothing but
    /// those wakeups would take under the load they were measured in (their tails add up: one
    /// slow hop of the seven is enough to delay the whole path).
    static func pathSums(of samples: [UInt64], hops: Int = triggerPathHops, draws: Int = 100_000) -> [UInt64] {
        guard !samples.isEmpty else { return [] }
        var generator = SystemRandomNumberGenerator()
        return (0..<draws).map { _ in
            (0..<hops).reduce(0) { sum, _ in sum + samples[Int.random(in: 0..<samples.count, using: &generator)] }
        }
    }
}

/// Shared by the probe and its sender thread.
private final class StopFlag: Sendable {
    let raised = Atomic<Bool>(false)
}
