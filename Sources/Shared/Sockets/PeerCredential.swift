import Foundation

/// Who is on the other end of a Unix socket connection, from the kernel (SO_PEERCRED): a process
/// cannot claim to be another.
public enum PeerCredential {
    /// Linux `struct ucred` (pid, uid, gid): Glibc hides it behind _GNU_SOURCE, so Swift does not see it.
    public struct UCred: Sendable {
        public var pid: Int32 = 0
        public var uid: UInt32 = 0
        public var gid: UInt32 = 0
        public init() {}
    }

    /// SO_PEERCRED on Linux (asm-generic/socket.h).
    public static let option: Int32 = 17

    /// The pid of the process that listens on the Unix socket at `path`, as the kernel recorded it
    /// when it called listen(); nil when nobody accepts there within `timeout` or the kernel will
    /// not say. The connect is bounded by `timeout` too, so a full backlog does not hang it.
    public static func listenerPID(unixPath path: String, timeout: TimeInterval = 2) -> pid_t? {
        guard let address = try? PosixSocket.unixAddress(path),
            let fd = try? PosixSocket.connect(to: address, timeout: timeout)
        else { return nil }
        defer { close(fd) }
        var credential = UCred()
        var length = socklen_t(MemoryLayout<UCred>.size)
        guard getsockopt(fd, SOL_SOCKET, option, &credential, &length) == 0, credential.pid > 0 else { return nil }
        return credential.pid
    }
}
