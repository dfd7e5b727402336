import Foundation

/// The listener's base URL, plain HTTP only: the listener serves HTTP on loopback or a private
/// network (DESIGN section 4); TLS belongs to a proxy in front of it.
struct HTTPEndpoint: CustomStringConvertible {
    var host: String
    var port: Int
    var basePath = ""

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host, !host.isEmpty else {
            throw CtlFailure.usage("--listener \(url): expected a URL like http://127.0.0.1:7600")
        }
        guard scheme == "http" else {
            throw CtlFailure.usage("--listener \(url): only http:// is supported (the listener serves plain HTTP)")
        }
        self.host = host
        self.port = components.port ?? 80
        basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
    }

    /// `host:port` as the Host header and URLs write it (IPv6 literals in brackets).
    var authority: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    var description: String { "http://\(authority)\(basePath)" }
}

struct HTTPResponse {
    var status: Int
    var body: [UInt8]

    /// The body as a JSON object; nil when it is not one.
    var object: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }

    /// The listener's `{"error": "..."}`, or the raw body when it is not JSON.
    var errorText: String {
        if let message = object?["error"] as? String { return message }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "no body" : text
    }
}

/// One HTTP/1.1 request per connection (`Connection: close`), enough for an operator command.
enum HTTPClient {
    static let timeout: TimeInterval = 10

    static func request(_ method: String, _ endpoint: HTTPEndpoint, _ path: String, token: String? = nil,
                        json body: [UInt8]? = nil) throws -> HTTPResponse {
        let socket: StreamSocket
        do {
            socket = try StreamSocket.tcp(host: endpoint.host, port: endpoint.port, timeout: timeout)
        } catch {
            let reason = switch error {
            case .refused: "connection refused"
            case .missing: "no such address"
            case .other(let text): text
            }
            throw CtlFailure.runtime("cannot reach the listener at \(endpoint): \(reason); is mimic-listener running? (check --listener or http: in listener.yaml)")
        }
        var head = "\(method) \(endpoint.basePath)\(path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\n"
        head += "Connection: close\r\nAccept: application/json\r\nUser-Agent: mimicctl\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        let payload = body ?? []
        if body != nil { head += "Content-Type: application/json\r\n" }
        if body != nil || method == "POST" { head += "Content-Length: \(payload.count)\r\n" }
        head += "\r\n"
        do {
            try socket.write(Array(head.utf8) + payload)
            return try readResponse(socket)
        } catch let failure as CtlFailure {
            throw failure
        } catch {
            throw CtlFailure.runtime("listener at \(endpoint): \(method) \(path) failed: \(error)")
        }
    }

    /// Reads until the body is complete (Content-Length or chunked) or the server closes.
    private static func readResponse(_ socket: StreamSocket) throws -> HTTPResponse {
        var data: [UInt8] = []
        var headerEnd: Int?
        while headerEnd == nil {
            let chunk = try socket.readSome()
            guard !chunk.isEmpty else { throw SocketIOError("connection closed before an HTTP answer") }
            data += chunk
            headerEnd = find([13, 10, 13, 10], in: data)
        }
        let head = String(decoding: data[..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else {
            throw SocketIOError("not an HTTP answer: \(head[0].prefix(80))")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[(headerEnd! + 4)...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                if let decoded = try dechunk(body) { return HTTPResponse(status: status, body: decoded) }
                let chunk = try socket.readSome()
                guard !chunk.isEmpty else { throw SocketIOError("connection closed inside a chunked body") }
                body += chunk
            }
        }
        if let length = headers["content-length"].flatMap({ Int($0) }) {
            while body.count < length {
                let chunk = try socket.readSome()
                guard !chunk.isEmpty else { throw SocketIOError("connection closed after \(body.count) of \(length) body bytes") }
                body += chunk
            }
            return HTTPResponse(status: status, body: Array(body.prefix(length)))
        }
        while true {
            let chunk = try socket.readSome()
            if chunk.isEmpty { return HTTPResponse(status: status, body: body) }
            body += chunk
        }
    }

    /// The decoded body once the terminating zero-size chunk has arrived; nil while incomplete.
    private static func dechunk(_ data: [UInt8]) throws -> [UInt8]? {
        var out: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = find([13, 10], in: data, from: index) else { return nil }
            let sizeText = String(decoding: data[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw SocketIOError("bad chunk size in HTTP answer")
            }
            let start = lineEnd + 2
            if size == 0 { return out }
            guard data.count >= start + size + 2 else { return nil }
            out += data[start..<(start + size)]
            index = start + size + 2
        }
    }

    private static func find(_ needle: [UInt8], in data: [UInt8], from start: Int = 0) -> Int? {
        guard data.count >= needle.count, start <= data.count - needle.count else { return nil }
        for index in start...(data.count - needle.count) where data[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
