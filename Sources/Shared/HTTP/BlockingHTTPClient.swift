import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// HTTP requests for callers that have no event loop and no async context: mimicctl's one request
/// to the listener, the bench's status probes, the tests. AsyncHTTPClient does the protocol;
/// this waits for its future and turns its errors into `SocketFailure`.
///
/// Not for a load generator: each request hops to AHC's event loop and back, which costs CPU and
/// blurs the timestamps the bench's HTTP load takes (see HTTPLoadConnection in the bench).
public struct BlockingHTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]

        /// The body as a JSON object; nil when it is not one.
        public var object: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
    }

    /// Bounds the whole request: connect, send, and the complete answer.
    public var timeout: TimeInterval
    /// For https:// URLs: a PEM bundle of the CAs the server's certificate must chain to, instead
    /// of the system's (a listener door with a private CA).
    public var caFile: String?

    public init(timeout: TimeInterval = 10, caFile: String? = nil) {
        self.timeout = timeout
        self.caFile = caFile
    }

    /// One process-wide client on NIO's singleton loops; never shut down, it lives as long as the
    /// process. A refused connection fails the request at once instead of being retried until the
    /// deadline: an operator asking a stopped listener wants the answer now.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// `url` is absolute (`http://127.0.0.1:7600/v1/apps`). Any status is a response; only a
    /// request that got no complete answer throws.
    public func request(
        _ method: String, _ url: String, headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws(SocketFailure) -> Response {
        let peer = Self.authority(of: url)
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(
                url: url, method: HTTPMethod(rawValue: method), headers: HTTPHeaders(headers),
                body: body.map { .bytes($0) },
                tlsConfiguration: caFile.map { file in
                    var tls = TLSConfiguration.makeClientConfiguration()
                    tls.trustRoots = .file(file)
                    return tls
                })
        } catch {
            throw SocketFailure(.badAddress, peer: url, operation: "connect", detail: "not an http:// URL: \(error)")
        }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout * 1e9))
            let response = try Self.client.execute(request: request, deadline: deadline).wait()
            let bytes = response.body.map { Array($0.readableBytesView) } ?? []
            return Response(status: Int(response.status.code), body: bytes)
        } catch {
            throw Self.failure(error, peer: peer)
        }
    }

    /// `host:port` of an http URL, for errors.
    static func authority(of url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return url }
        return "\(host.contains(":") ? "[\(host)]" : host):\(components.port ?? 80)"
    }

    static func failure(_ error: any Error, peer: String) -> SocketFailure {
        if let failure = error as? HTTPClientError {
            switch failure {
            case .connectTimeout:
                return SocketFailure(.timedOut, peer: peer, operation: "connect")
            case .readTimeout, .writeTimeout, .deadlineExceeded, .getConnectionFromPoolTimeout:
                return SocketFailure(.timedOut, peer: peer, operation: "request")
            case .remoteConnectionClosed:
                return SocketFailure(.closed, peer: peer, operation: "request")
            default:
                return SocketFailure(.system, peer: peer, operation: "request", detail: "\(failure)")
            }
        }
        if let code = connectErrno(error) {
            let connecting =
                error is NIOConnectionError || [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL].contains(code)
            return SocketFailure(errno: code, peer: peer, operation: connecting ? "connect" : "request")
        }
        if error is NIOConnectionError { return SocketFailure(.unresolved, peer: peer, operation: "connect") }
        if let failure = error as? ChannelError, case .connectTimeout = failure {
            return SocketFailure(.timedOut, peer: peer, operation: "connect")
        }
        return SocketFailure(.system, peer: peer, operation: "request", detail: "\(error)")
    }

    /// The errno of a failed connect, wherever NIO put it.
    private static func connectErrno(_ error: any Error) -> Int32? {
        if let failure = error as? IOError { return failure.errnoCode }
        if let failure = error as? NIOConnectionError {
            return failure.connectionErrors.lazy.compactMap { connectErrno($0.error) }.first
        }
        return nil
    }
}
