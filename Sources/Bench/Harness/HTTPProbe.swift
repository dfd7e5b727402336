import Foundation

/// A small HTTP/1.1 client over a blocking socket: the bench's HTTP load and its probes of the
/// listener's `GET /v1/apps`. Keep-alive, Content-Length bodies only (what the listener sends).
final class HTTPConnection: @unchecked Sendable {
    private let socket: BlockingSocket
    private let port: Int

    init(port: Int) throws {
        self.port = port
        socket = try BlockingSocket.tcp(port: port)
        socket.setReceiveTimeout(millis: 30_000)
    }

    struct Response {
        var status: Int
        var body: [UInt8]
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    }

    func request(_ method: String, _ path: String, token: String? = nil, body: [UInt8] = []) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if !body.isEmpty || method == "POST" {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        var out = Array(head.utf8)
        out += body
        try socket.write(out)
        guard let statusLine = socket.readLine() else { throw SocketError(message: "HTTP: no response") }
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        var length = 0
        while let line = socket.readLine() {
            let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : line
            if trimmed.isEmpty { break }
            let parts = trimmed.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                length = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        guard let bytes = socket.read(exactly: length) else { throw SocketError(message: "HTTP: body truncated") }
        return Response(status: status, body: bytes)
    }
}

/// One app's line of `GET /v1/apps/{app}`: what the recovery and fleet modes watch.
struct AppProbe: Sendable {
    var connected: Bool
    var pid: Int32?
    var ackedSeq: Int
    var backlogMessages: Int
    var lastSeq: Int

    init?(_ json: Any?) {
        guard let object = json as? [String: Any] else { return nil }
        let worker = object["worker"] as? [String: Any] ?? [:]
        connected = worker["connected"] as? Bool ?? false
        pid = (worker["pid"] as? Int).map { Int32($0) }
        ackedSeq = object["last_acked_seq"] as? Int ?? 0
        let journal = object["journal"] as? [String: Any] ?? object
        backlogMessages = journal["backlog_messages"] as? Int ?? object["backlog_messages"] as? Int ?? 0
        lastSeq = journal["last_seq"] as? Int ?? 0
    }
}
