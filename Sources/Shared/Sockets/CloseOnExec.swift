import Foundation

/// Marks every open descriptor of this process close-on-exec.
///
/// Neither SwiftNIO nor hiredis opens its sockets with SOCK_CLOEXEC, so any program this process
/// execs without closing descriptors inherits them. The one that matters is the Swift runtime's
/// crash reporter (`swift-backtrace`), spawned by a process that traps: it inherited the worker's
/// listening socket and its frame link, and one that hung kept `<app>.sock` accepting into a full
/// backlog for half an hour after the worker was gone, so no new worker could start. Callers run
/// this right after they open sockets (bind, accept, a Redis connect); it is a scan of
/// /proc/self/fd, a few dozen descriptors.
public enum CloseOnExec {
    /// One descriptor whose opener is known (hiredis's context), without the scan.
    public static func mark(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0, flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    public static func markAll() {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        let own = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let fd = Int32(name), fd > 2, fd != own else { continue }
            mark(fd)
        }
    }
}
