import Glibc
import Shared

/// A listening Unix socket (the relay baseline's hops).
final class UnixListener: @unchecked Sendable {
    let fd: Int32
    let path: String

    init(path: String) throws(SocketFailure) {
        self.path = path
        unlink(path)
        fd = try PosixSocket.bind(to: PosixSocket.unixAddress(path))
        guard listen(fd, 16) == 0 else {
            let failure = SocketFailure(errno: errno, peer: path, operation: "listen")
            Glibc.close(fd)
            throw failure
        }
    }

    func accept() throws(SocketFailure) -> LineSocket {
        while true {
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 { return LineSocket(adopting: client, peer: path) }
            if errno != EINTR { throw SocketFailure(errno: errno, peer: path, operation: "accept") }
        }
    }

    deinit {
        Glibc.close(fd)
        unlink(path)
    }
}
