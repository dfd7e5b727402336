import Foundation
import NIOCore

/// Blocking stream sockets as plain descriptors, for the callers that want no event loop: mimicctl's
/// one question, the bench's load threads, the worker's stale-socket check, the tests' clients.
/// NIO's `SocketAddress` builds the sockaddr, so no caller fills sockaddr_un/sockaddr_in by hand.
public enum PosixSocket {
    public static func unixAddress(_ path: String) throws(SocketFailure) -> SocketAddress {
        do {
            return try SocketAddress(unixDomainSocketPath: path)
        } catch {
            throw SocketFailure(
                .badAddress, peer: path, operation: "connect",
                detail: "socket path too long (at most 107 bytes)")
        }
    }

    public static func loopback(port: Int) -> SocketAddress {
        // 127.0.0.1 always parses; only the port could be wrong, and callers pass real ports.
        try! SocketAddress(ipAddress: "127.0.0.1", port: port)
    }

    /// A stream socket connected to `address`; the caller closes it. `timeout`: see `setTimeout`.
    public static func connect(to address: SocketAddress, timeout: TimeInterval? = nil) throws(SocketFailure) -> Int32 {
        let fd = try open(address)
        if let timeout { setTimeout(fd, timeout) }
        let result = address.withSockAddr { Glibc.connect(fd, $0, socklen_t($1)) }
        guard result == 0 else { throw closing(fd, "connect", address) }
        return fd
    }

    /// Reads and writes on `fd` give up after `timeout` (EAGAIN); on Linux so does connect().
    public static func setTimeout(_ fd: Int32, _ timeout: TimeInterval) {
        var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
    }

    public static func connect(unixPath: String, timeout: TimeInterval? = nil) throws(SocketFailure) -> Int32 {
        try connect(to: try unixAddress(unixPath), timeout: timeout)
    }

    /// A stream socket bound to `address`, not yet listening; the caller closes it.
    public static func bind(to address: SocketAddress) throws(SocketFailure) -> Int32 {
        let fd = try open(address)
        guard address.withSockAddr({ Glibc.bind(fd, $0, socklen_t($1)) }) == 0 else {
            throw closing(fd, "bind", address)
        }
        return fd
    }

    /// A loopback TCP port the kernel hands out now (bound and released at once: another process
    /// may take it before the caller does, which tests and the bench accept).
    public static func freeLoopbackPort() throws(SocketFailure) -> Int {
        let fd = try bind(to: loopback(port: 0))
        defer { close(fd) }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw SocketFailure(errno: errno, peer: "127.0.0.1:0", operation: "getsockname") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True when something listens at `address` now. Never blocks past `timeout`: a blocking
    /// connect to a Unix socket whose backlog is full waits until its owner accepts, which is
    /// forever when the owner is hung (a worker stuck in a crash reporter left one like that, and
    /// the next worker's stale-socket check hung on it). A full backlog answers true: someone
    /// listens there, however busy.
    public static func accepts(_ address: SocketAddress, timeout: TimeInterval = 2) -> Bool {
        guard let fd = try? open(address) else { return false }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if address.withSockAddr({ Glibc.connect(fd, $0, socklen_t($1)) }) == 0 { return true }
        switch errno {
        case EAGAIN:
            // unix(7): a nonblocking connect to a listener whose backlog is full.
            return true
        case EINPROGRESS:
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let milliseconds = Int32(clamping: Int((max(0, timeout) * 1000).rounded(.up)))
            guard poll(&descriptor, 1, milliseconds) == 1 else { return false }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return false }
            return error == 0
        default:
            return false
        }
    }

    private static func open(_ address: SocketAddress) throws(SocketFailure) -> Int32 {
        let family: Int32 =
            switch address {
            case .v4: AF_INET
            case .v6: AF_INET6
            case .unixDomainSocket: AF_UNIX
            }
        // Close-on-exec: a program this process starts (a hook, the crash reporter) must not keep
        // its connections or listeners open.
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(errno: errno, peer: address.display, operation: "socket") }
        return fd
    }

    private static func closing(_ fd: Int32, _ operation: String, _ address: SocketAddress) -> SocketFailure {
        let code = errno
        close(fd)
        return SocketFailure(errno: code, peer: address.display, operation: operation)
    }
}

extension SocketAddress {
    /// `127.0.0.1:7600` or the socket path, for error messages.
    var display: String {
        if case .unixDomainSocket = self { return pathname ?? "unix socket" }
        return "\(ipAddress ?? "?"):\(port ?? 0)"
    }
}
