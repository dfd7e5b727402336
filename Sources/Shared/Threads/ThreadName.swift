import Foundation

/// The kernel's name of the calling thread, the one `top -H`, `perf` and `/proc/<pid>/task/*/comm`
/// show. Foundation's `Thread.name` does not reach the kernel on Linux, so every thread the process
/// started showed the name of the thread that created it (`com.apple.root.default-qos`), and a
/// journal writer could not be told from the cooperative pool. Glibc's `pthread_setname_np` is not
/// visible to Swift; writing the thread's own `comm` is what it does for another thread.
public enum ThreadName {
    /// At most 15 bytes are kept (the kernel's limit).
    public static func setCurrent(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
