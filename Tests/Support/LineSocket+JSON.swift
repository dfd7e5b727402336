import Foundation
import Shared

/// What the tests add to the shared line socket: a client that waits for a starting worker's
/// socket file, JSON lines, and a look at back-pressure.
extension LineSocket {
    /// Retries until `timeout`: the socket file may not exist yet while a worker starts.
    public convenience init(path: String, timeout: TimeInterval = 10) throws(SocketFailure) {
        self.init(adopting: try Self.connectWhenReady(path, deadline: Date().addingTimeInterval(timeout)), peer: path)
    }

    private static func connectWhenReady(_ path: String, deadline: Date) throws(SocketFailure) -> Int32 {
        while true {
            do throws(SocketFailure) {
                return try PosixSocket.connect(unixPath: path)
            } catch {
                if Date() > deadline { throw error }
                usleep(20_000)
            }
        }
    }

    /// 127.0.0.1:`tcpPort`, one attempt.
    public convenience init(tcpPort: Int) throws(SocketFailure) {
        try self.init(loopbackPort: tcpPort)
    }

    /// One line: a newline is added unless `line` ends with one.
    public func send(_ line: String) throws(SocketFailure) {
        try write(line.hasSuffix("\n") ? line : line + "\n")
    }

    public func sendLines(_ lines: [String]) throws(SocketFailure) {
        try write(lines.joined(separator: "\n") + "\n")
    }

    /// Exactly these bytes, e.g. half a line to cut a client off mid-message.
    public func sendRaw(_ text: String) throws(SocketFailure) {
        try write(text)
    }

    /// Sends the line if the socket takes data within `timeout`; false when the peer stopped
    /// reading (its buffers are full), which is how a test sees back-pressure.
    public func sendIfWritable(_ line: String, timeout: TimeInterval) throws(SocketFailure) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { return false }
        try send(line)
        return true
    }

    public func sendJSON(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try send(String(decoding: data, as: UTF8.self))
    }

    /// The next line as a JSON object, or nil when nothing arrives within `timeout`, the peer
    /// closed, or the line is not an object.
    public func readJSON(timeout: TimeInterval = 20) -> [String: Any]? {
        guard let line = try? readLine(timeout: timeout) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    /// Sends one request line and returns the first reply line as JSON.
    public func request(_ object: [String: Any], timeout: TimeInterval = 10) throws -> [String: Any] {
        try sendJSON(object)
        guard let reply = readJSON(timeout: timeout) else { throw TestSupportError("no reply to \(object) on \(peer)") }
        return reply
    }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(
    timeout: TimeInterval = 15, interval: TimeInterval = 0.05,
    _ condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
