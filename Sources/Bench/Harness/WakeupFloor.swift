import Foundation

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
        let echoCPU = ManagedAtomicDouble()
        let echo = JoinableThread("bench-wakeup-echo") {
            let started = threadCPUNanos()
            var byte: UInt8 = 0
            for _ in 0..<rounds {
                guard read(pingRead, &byte, 1) == 1, write(pongWrite, &byte, 1) == 1 else { break }
            }
            echoCPU.set(Double(threadCPUNanos() - started))
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
        return Figures(wallMicros: wall / wakeups / 1000, cpuMicros: (cpu + echoCPU.get()) / wakeups / 1000)
    }

    /// CPU of one 64-byte append + `fdatasync` in `directory`: on a VM the flush is a trip to the
    /// hypervisor, charged to the caller's CPU as system time.
    static func fdatasyncCPUMicros(directory: String, samples: Int = 300) throws -> Double {
        let path = directory + "/fdatasync-cpu.bin"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o600)
        guard fd >= 0 else { throw BenchFailure("cannot open \(path): errno \(errno)") }
        defer {
            close(fd)
            unlink(path)
        }
        let record = [UInt8](repeating: 0x61, count: 64)
        let started = threadCPUNanos()
        for _ in 0..<samples {
            guard record.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == record.count, fdatasync(fd) == 0
            else { throw BenchFailure("write or fdatasync failed in \(directory): errno \(errno)") }
        }
        return Double(threadCPUNanos() - started) / Double(samples) / 1000
    }

    private static func threadCPUNanos() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// One Double handed from a thread to its joiner.
private final class ManagedAtomicDouble: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0.0

    func set(_ new: Double) {
        lock.lock()
        value = new
        lock.unlock()
    }

    func get() -> Double {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
