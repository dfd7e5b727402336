import Foundation
import Synchronization

/// What one hop between threads costs on this machine: two threads pass one byte back and forth
/// over two pipes, so every round trip is two wakeups, on a 2-core machine usually across cores.
/// Each hop on a message's path (event loop → journal writer → event loop, worker socket → scheduler
/// loop, …) pays one; on a VM a wakeup across cores is an interrupt between virtual CPUs.
enum WakeupFloor {
    struct Figures {
        /// Wall time of one wakeup (half a round trip).
        var wallMicros: Double
        /// CPU of one wakeup, both threads' time included (`CLOCK_THREAD_CPUTIME_ID`).
        var cpuMicros: Double
    }

    static func measure(rounds: Int = 20_000) throws -> Figures {
        var ping: [Int32] = [-1, -1]
        var pong: [Int32] = [-1, -1]
        guard pipe(&ping) == 0, pipe(&pong) == 0 else { throw BenchFailure("pipe: errno \(errno)") }
        defer { for fd in ping + pong { close(fd) } }
        let (pingRead, pongWrite) = (ping[0], pong[1])
        let echoCPU = EchoCPU()
        let echo = JoinableThread("bench-wakeup-echo") {
            let started = threadCPUNanos()
            var byte: UInt8 = 0
            for _ in 0..<rounds {
                guard read(pingRead, &byte, 1) == 1, write(pongWrite, &byte, 1) == 1 else { break }
            }
            echoCPU.nanos.store(threadCPUNanos() - started, ordering: .releasing)
        }
        var byte: UInt8 = 1
        let startedCPU = threadCPUNanos()
        let started = monotonicNanos()
        for _ in 0..<rounds {
            guard write(ping[1], &byte, 1) == 1, read(pong[0], &byte, 1) == 1 else {
                throw BenchFailure("wakeup floor: pipe write or read failed (errno \(errno))")
            }
        }
        let wall = Double(monotonicNanos() - started)
        let cpu = Double(threadCPUNanos() - startedCPU)
        _ = echo.join(timeout: 5)
        let wakeups = Double(2 * rounds)
        let echoed = Double(echoCPU.nanos.load(ordering: .acquiring))
        return Figures(wallMicros: wall / wakeups / 1000, cpuMicros: (cpu + echoed) / wakeups / 1000)
    }
}

/// The echo thread's CPU, handed to the measuring thread after the join.
private final class EchoCPU: Sendable {
    let nanos = Atomic<UInt64>(0)
}
