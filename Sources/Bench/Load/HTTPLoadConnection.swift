import Foundation
import Shared

/// The HTTP load's keep-alive connection: a request written and its answer read on the calling
/// thread over a blocking socket. Kept by hand rather than on BlockingHTTPClient
/// (AsyncHTTPClient): every request there hops to an event loop and back, which on the 2-core
/// machine the bench shares with the system under test costs the CPU it measures and puts a
/// thread switch into every answer time. It reads what the listener sends (Content-Length bodies),
/// nothing more; status probes go through BlockingHTTPClient.
final class HTTPLoadConnection: @unchecked Sendable {
    private let socket: LineSocket
    private let port: Int

    init(port: Int) throws {
        self.port = port
        socket = try LineSocket(loopbackPort: port)
        socket.setReceiveTimeout(30)
    }

    struct Response {
        var status: Int
        var body: [UInt8]
    }

    func post(_ path: String, token: String, body: [UInt8]) throws -> Response {
        let head =
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        try socket.write(Array(head.utf8) + body)
        guard let statusLine = try socket.readLine() else {
            throw BenchFailure("HTTP: connection closed before an answer")
        }
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        var length = 0
        while let line = try socket.readLine() {
            let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : line
            if trimmed.isEmpty { break }
            let parts = trimmed.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                length = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        return Response(status: status, body: try socket.read(exactly: length))
    }
}
