import Glibc

/// Monotonic nanoseconds; every interval the bench reports is a difference of two of these, so
/// wall-clock steps (NTP) cannot distort a figure.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

func seconds(since start: UInt64) -> Double {
    Double(monotonicNanos() &- start) / 1e9
}

func sleepMillis(_ ms: Double) {
    usleep(useconds_t(max(0, ms * 1000)))
}
