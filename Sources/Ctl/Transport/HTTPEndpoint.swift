import Foundation
import Shared

/// A base URL of one of the listener's doors: http://, or https:// when the door has `tls:`
/// (the server's certificate is checked against the system's CAs, or $MIMIC_CA_FILE).
struct HTTPEndpoint: CustomStringConvertible {
    var host: String
    var port: Int
    var tls = false
    var basePath = ""

    init(host: String, port: Int, tls: Bool = false) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    init(url: String, flag: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host,
            !host.isEmpty
        else {
            throw CtlFailure.usage("\(flag) \(url): expected a URL like http://127.0.0.1:7602")
        }
        guard scheme == "http" || scheme == "https" else {
            throw CtlFailure.usage("\(flag) \(url): expected http:// or https://")
        }
        self.host = host
        self.tls = scheme == "https"
        self.port = components.port ?? (tls ? 443 : 80)
        basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
    }

    /// `host:port` as the Host header and URLs write it (IPv6 literals in brackets).
    var authority: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    var description: String { "\(tls ? "https" : "http")://\(authority)\(basePath)" }

    static let timeout: TimeInterval = 10

    /// One request to the listener; a failure is the operator's one line, saying where it went.
    func request(_ method: String, _ path: String, token: String? = nil, json body: [UInt8]? = nil) throws
        -> BlockingHTTPClient.Response
    {
        var headers = [("Accept", "application/json"), ("User-Agent", "mimicctl")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        // Content-Length: 0 on a bodiless POST: servers may refuse a POST without a length (411).
        let payload = body ?? (method == "POST" ? [] : nil)
        do throws(SocketFailure) {
            var client = BlockingHTTPClient(timeout: Self.timeout)
            client.caFile = ProcessInfo.processInfo.environment["MIMIC_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            return try client.request(
                method, "\(self)\(path)", headers: headers, body: payload)
        } catch  where error.operation == "connect" {
            throw CtlFailure.runtime(
                "cannot reach the listener at \(self): \(error.reason); is mimic-listener running? (check --listener/--admin, or http:/admin: in listener.yaml)"
            )
        } catch {
            throw CtlFailure.runtime("listener at \(self): \(method) \(path) failed: \(error.reason)")
        }
    }
}

extension BlockingHTTPClient.Response {
    /// The listener's `{"error": "..."}`, or the raw body when it is not JSON.
    var errorText: String {
        if let message = object?["error"] as? String { return message }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "no body" : text
    }
}
