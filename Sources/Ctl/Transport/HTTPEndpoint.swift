import Foundation
import Shared

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
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host,
            !host.isEmpty
        else {
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
            return try BlockingHTTPClient(timeout: Self.timeout).request(
                method, "\(self)\(path)", headers: headers, body: payload)
        } catch  where error.operation == "connect" {
            throw CtlFailure.runtime(
                "cannot reach the listener at \(self): \(error.reason); is mimic-listener running? (check --listener or http: in listener.yaml)"
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
