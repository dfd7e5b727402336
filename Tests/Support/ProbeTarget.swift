import Foundation

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
        guard pid > 0 else { return }
        ChildProcess.signal(pid, SIGKILL)
        ChildProcess.waitForExit(pid)
        pid = 0
    }

    public static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }

    deinit { kill() }
}
