import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Shared

/// What the ingress and admin HTTP doors share: the HTTP/1 limits against slow or bloated
/// clients, TLS when the door's `tls:` block asks for it, and the bound-port callback.
enum HTTPDoor {
    /// A request (head and body) must arrive within this time, or the connection is closed (slowloris).
    static let requestDeadline: TimeAmount = .seconds(10)
    /// Headers beyond this are refused by the HTTP decoder: a bearer token and a few fields need far less.
    static let maxHeaderBytes = 16 * 1024

    static func application(
        router: Router<BasicRequestContext>, bind: ListenerConfig.Bind, tls: TLSConfiguration?, name: String,
        logger: Logger, onBound: @escaping @Sendable (Int) -> Void
    ) throws -> some ApplicationProtocol {
        var quiet = logger
        quiet.logLevel = .warning
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadlineHandler(limit: requestDeadline)],
            idleTimeout: requestDeadline,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: maxHeaderBytes, maxHeaderListSize: maxHeaderBytes,
                maxHeaderFieldCount: 100))
        var server = HTTPServerBuilder.http1(configuration: http1)
        if let tls { server = try HTTPServerBuilder.tls(server, tlsConfiguration: tls) }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(bind.host, port: bind.port), serverName: name),
            onServerRunning: { channel in
                // A crash reporter (swift-backtrace) of this process must not keep the port bound.
                CloseOnExec.markAll()
                onBound(channel.localAddress?.port ?? bind.port)
            },
            logger: quiet)
    }
}
