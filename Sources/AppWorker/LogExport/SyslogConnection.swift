import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Shared

/// One TCP (or TLS) connection to the site's syslog collector. Collectors never answer on a
/// syslog stream, so the only inbound event that matters is the close: NIO reads the peer's FIN
/// and closes the channel, and the exporter sees `isActive` false before it writes into a
/// connection that is gone.
final class SyslogConnection: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    var isActive: Bool { channel.isActive }

    /// `onClose` runs once when the connection ends, for whatever reason.
    static func open(
        to target: SyslogTarget, tls: NIOSSLContext?, serverName: String?, group: any EventLoopGroup,
        onClose: @escaping @Sendable () -> Void
    ) async throws -> SyslogConnection {
        // SNI cannot carry an address; without a name NIOSSL checks the certificate's IP entries.
        let sniName = serverName ?? (isAddressLiteral(target.host) ? nil : target.host)
        let handshake = group.any().makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(2))
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .channelInitializer { channel in
                    guard let tls else { return channel.eventLoop.makeSucceededVoidFuture() }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            NIOSSLClientHandler(context: tls, serverHostname: sniName),
                            TLSHandshakeWaiter(promise: handshake))
                    }
                }
                .connect(host: target.host, port: target.port)
                .get()
        } catch {
            handshake.fail(error)
            throw error
        }
        channel.closeFuture.whenComplete { _ in onClose() }
        // Connected means the collector accepted the TLS session too: an untrusted certificate
        // is a failed connection, not one that loses the first batch.
        if tls != nil {
            do {
                try await handshake.futureResult.get()
            } catch {
                try? await channel.close().get()
                throw error
            }
        } else {
            handshake.succeed()
        }
        return SyslogConnection(channel: channel)
    }

    /// Returns once the bytes are handed to the kernel (or to TLS, then the kernel); throws if the
    /// connection broke first.
    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).get()
    }

    func close() async {
        try? await channel.close().get()
    }

    static func isAddressLiteral(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// The TLS context for a `tls://` target, read once at start so a bad file is reported then.
    static func tlsContext(_ settings: SyslogTLS) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
        if let certFile = settings.certFile, let keyFile = settings.keyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

/// Completes `promise` when the TLS handshake is done, fails it when the connection errs or ends first.
private final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { promise.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}
