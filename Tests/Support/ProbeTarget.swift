import Foundation
import Shared

/// A stand-in for a host's node service: a real process accepting TCP connections on a fixed
/// port, which the test kills to make the host fail its probes and starts again to bring it back.
public final class ProbeTarget: @unchecked Sendable {
    public let port: Int
    public private(set) var pid: pid_t = 0

    public init() throws {
        port = try FreePort.take()
        try start()
    }

    /// Starts the listener (again) on the same port and waits until it accepts.
    public func start() throws {
        let script = """
            import socket, sys
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(sys.argv[1])))
            s.listen(64)
            while True:
                c, _ = s.accept()
                c.close()
            """
        pid = try ChildProcess.spawn(executable: "/usr/bin/python3", arguments: ["-c", script, "\(port)"])
        let up = eventually(timeout: 10) { Self.accepts(port) }
        if !up { throw TestSupportError("probe target on port \(port) did not start") }
    }

    /// kill -9: the port refuses connections from now on.
    public func kill() {
        ChildProcess.kill(pid)
        pid = 0
    }

    public static func accepts(_ port: Int) -> Bool {
        PosixSocket.accepts(PosixSocket.loopback(port: port))
    }

    deinit {
        ChildProcess.stop(pid)
    }
}
