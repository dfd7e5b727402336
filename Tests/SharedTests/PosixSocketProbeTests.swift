import Foundation
import Shared
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The "does anyone listen here" probe and close-on-exec, which the worker's stale-socket check
/// and a crashed process's crash reporter depend on.
@Suite("Socket probe and close-on-exec")
struct PosixSocketProbeTests {
    /// A Unix socket listening with the smallest backlog, filled by nonblocking clients that are
    /// never accepted: what a hung owner's socket looks like.
    private final class FullBacklog: @unchecked Sendable {
        let path: String
        let listener: Int32
        var clients: [Int32] = []

        init() throws {
            path = NSTemporaryDirectory() + "mimic-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
            listener = try PosixSocket.bind(to: PosixSocket.unixAddress(path))
            precondition(listen(listener, 0) == 0)
            let address = try PosixSocket.unixAddress(path)
            for _ in 0..<64 {
                let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                let result = address.withSockAddr { connect(fd, $0, socklen_t($1)) }
                let code = errno
                clients.append(fd)
                if result != 0, code == EAGAIN { return }
            }
            throw TestSupportError("the backlog of \(path) never filled")
        }

        func close() {
            for fd in clients { Glibc.close(fd) }
            Glibc.close(listener)
            unlink(path)
        }
    }

    /// Issue 12's 10-minute battery: a worker's stale-socket check hung for good in a blocking
    /// connect to the socket a crashed worker's crash reporter still held, backlog full.
    @Test func aFullBacklogAnswersAtOnceThatSomeoneListens() throws {
        let full = try FullBacklog()
        defer { full.close() }
        let answered = DispatchSemaphore(value: 0)
        final class Answer: @unchecked Sendable {
            let lock = NSLock()
            var listens: Bool?
        }
        let answer = Answer()
        let address = try PosixSocket.unixAddress(full.path)
        Thread {
            let listens = PosixSocket.accepts(address, timeout: 1)
            answer.lock.withLock { answer.listens = listens }
            answered.signal()
        }.start()
        #expect(answered.wait(timeout: .now() + 5) == .success, "the probe blocked on the full backlog")
        #expect(answer.lock.withLock { answer.listens } == true, "a full backlog has a live owner")
    }

    @Test func aSocketFileNobodyListensOnIsRefusedAndAnOpenPortAccepted() throws {
        let path = NSTemporaryDirectory() + "mimic-probe-stale-\(getpid()).sock"
        let fd = try PosixSocket.bind(to: PosixSocket.unixAddress(path))
        defer { unlink(path) }
        close(fd)
        #expect(!PosixSocket.accepts(try PosixSocket.unixAddress(path)), "bound once, nobody listens now")

        let tcp = try PosixSocket.bind(to: PosixSocket.loopback(port: 0))
        defer { close(tcp) }
        #expect(listen(tcp, 4) == 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(tcp, $0, &length) }
        }
        #expect(PosixSocket.accepts(PosixSocket.loopback(port: Int(UInt16(bigEndian: address.sin_port)))))
    }

    /// NIO and hiredis open sockets without SOCK_CLOEXEC; after `markAll` none is inherited.
    @Test func markAllLeavesNoDescriptorInheritable() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { fds.forEach { close($0) } }
        #expect(fcntl(fds[0], F_GETFD) & FD_CLOEXEC == 0, "a plain socketpair is inheritable")
        CloseOnExec.markAll()
        for fd in fds { #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0) }
        let own = try PosixSocket.bind(to: PosixSocket.loopback(port: 0))
        defer { close(own) }
        #expect(fcntl(own, F_GETFD) & FD_CLOEXEC != 0, "PosixSocket opens close-on-exec")
    }
}
