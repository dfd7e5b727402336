import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Shared
import Synchronization

/// TCP NDJSON ingress (DESIGN section 4): `{"auth":"<token>"}` first, then one envelope per line;
/// each envelope line is answered, in order, with `{"ok":"<id>"}` after its journal commit or
/// `{"error":"...","id":"<id>","code":N}` (code as the HTTP status would be).
struct TCPIngress: Service {
    let host: String
    let port: Int
    /// `tcp.tls`: each connection starts with a TLS handshake before the auth line.
    let tls: NIOSSLContext?
    let runtime: ListenerRuntime
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    func run() async throws {
        let runtime = self.runtime
        let logger = self.logger
        let tls = self.tls
        let maxLine = runtime.config.maxMessageBytes
        let unread = UnreadAnswers()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Past `high` queued answer bytes the channel turns unwritable and the session stops
            // reading from that peer (see TCPSession).
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: TCPSession.answerBufferLow, high: TCPSession.answerBufferHigh)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(NDJSONLineDecoder(maxLineBytes: maxLine)))
                    try channel.pipeline.syncOperations.addHandler(
                        TCPSession(runtime: runtime, unread: unread, logger: logger))
                }
            }
            .bind(host: host, port: port).get()
        // A crash reporter (swift-backtrace) of this process must not keep the port bound.
        CloseOnExec.markAll()
        onBound(channel.localAddress?.port ?? port)
        logger.info("tcp ingress listening", metadata: ["address": "\(host):\(channel.localAddress?.port ?? port)"])
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

private final class TCPSession: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = NDJSONLine
    typealias OutboundOut = ByteBuffer

    private struct AuthLine: Decodable { var auth: String }

    private let runtime: ListenerRuntime
    private let unread: UnreadAnswers
    private let logger: Logger
    private var token: Int?
    private var intake: EnvelopeIntake?
    private var firstSlot: UInt64 = 0
    private var answers = CircularBuffer<String?>()
    private var batch: [(slot: UInt64, message: IntakeMessage)] = []
    private var closing = false
    /// Reading pauses while this many answers are outstanding (a sender pipelining faster than the journal).
    private static let maxOutstanding = 32_768
    private var pausedForJournal = false
    /// Answer bytes queued for the peer beyond which reading from it pauses, and below which it resumes.
    static let answerBufferHigh = 256 * 1024
    static let answerBufferLow = 64 * 1024
    /// A peer that reads none of its answers for this long is cut: it holds memory every app's
    /// ingress needs. Its journaled messages stay; a sender that retries them is answered by id.
    static let readStallDeadline: TimeAmount = .seconds(20)
    private var pausedForPeer = false
    private var stallTimer: Scheduled<Void>?

    /// A connection must authenticate within this time: an open socket that never says who it is
    /// only holds a file descriptor.
    static let authDeadline: TimeAmount = .seconds(10)
    private var authTimer: Scheduled<Void>?

    init(runtime: ListenerRuntime, unread: UnreadAnswers, logger: Logger) {
        self.runtime = runtime
        self.unread = unread
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        authTimer = context.eventLoop.scheduleTask(in: Self.authDeadline) {
            let (session, context) = loopBound.value
            if session.token == nil {
                session.refuse(
                    context, "no {\"auth\":\"<token>\"} line within \(Self.authDeadline.nanoseconds / 1_000_000_000)s")
            }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        authTimer?.cancel()
        stallTimer?.cancel()
        context.fireChannelInactive()
    }

    /// A peer that does not read its answers is not read from either: its sends block in its own
    /// kernel, and the listener holds at most `answerBufferHigh` plus one read's answers for it.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallTimer?.cancel()
            stallTimer = nil
            pausedForPeer = false
        } else {
            pausedForPeer = true
            if unread.isOverDoorLimit {
                cut(
                    context,
                    "answers unread while the listener holds \(UnreadAnswers.doorLimit >> 20) MiB of unread answers")
            } else if stallTimer == nil {
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                stallTimer = context.eventLoop.scheduleTask(in: Self.readStallDeadline) {
                    let (session, context) = loopBound.value
                    guard !context.channel.isWritable else { return }
                    session.cut(
                        context, "answers unread for \(Self.readStallDeadline.nanoseconds / 1_000_000_000)s")
                }
            }
        }
        updateReading(context)
        context.fireChannelWritabilityChanged()
    }

    private func cut(_ context: ChannelHandlerContext, _ why: String) {
        guard !closing else { return }
        closing = true
        runtime.counters.cutForUnreadAnswers()
        logger.warning(
            "tcp ingress: connection cut",
            metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "why": "\(why)"])
        context.close(promise: nil)
    }

    private func updateReading(_ context: ChannelHandlerContext) {
        let read = !(pausedForJournal || pausedForPeer)
        context.channel.setOption(ChannelOptions.autoRead, value: read).whenComplete { _ in }
        if read { context.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .tooLong(let bytes):
            guard token != nil else { return refuse(context, "first line must be {\"auth\":\"<token>\"}") }
            answer(
                allocate(),
                JSONText.error(
                    "message is \(bytes) bytes; max_message_bytes is \(runtime.config.maxMessageBytes)", id: nil,
                    code: 413))
        case .line(let line):
            guard line.readableBytes > 0 else { return }
            guard let token else { return authenticate(context, line) }
            let intake = self.intake ?? runtime.intake
            self.intake = intake
            let slot = allocate()
            switch intake.admit(line.readableBytesView, token: token) {
            case .success(let message): batch.append((slot, message))
            case .failure(let rejection):
                runtime.counters.rejected(rejection.status)
                answer(slot, JSONText.error(rejection.message, id: rejection.id, code: rejection.status))
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        intake = nil
        submit(context)
        flushAnswers(context)
        if !pausedForJournal, answers.count >= Self.maxOutstanding {
            pausedForJournal = true
            updateReading(context)
        }
    }

    private func authenticate(_ context: ChannelHandlerContext, _ line: ByteBuffer) {
        guard let auth = try? JSONDecoder().decode(AuthLine.self, from: Data(line.readableBytesView)) else {
            return refuse(context, "first line must be {\"auth\":\"<token>\"}")
        }
        guard case .known(let index) = runtime.authorizer.identify(auth.auth) else {
            return refuse(context, "unknown token")
        }
        token = index
    }

    private func refuse(_ context: ChannelHandlerContext, _ message: String) {
        runtime.counters.rejected(401)
        closing = true
        let text = JSONText.error(message, id: nil, code: 401)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: text))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func allocate() -> UInt64 {
        answers.append(nil)
        return firstSlot + UInt64(answers.count - 1)
    }

    private func answer(_ slot: UInt64, _ text: String) {
        guard slot >= firstSlot else { return }
        answers[answers.index(answers.startIndex, offsetBy: Int(slot - firstSlot))] = text
    }

    private func submit(_ context: ChannelHandlerContext) {
        guard !batch.isEmpty else { return }
        let pending = batch
        batch.removeAll(keepingCapacity: true)
        // Each app's messages as positions in `pending`, read by index throughout: grouping or
        // closing over the (slot, message) elements copied each whole, retaining every string and
        // buffer of the message (4 % of the listener in a profile of the bench's mixed batches).
        var byApp: [String: [Int]] = [:]
        if let app = pending.first?.message.app, pending.indices.allSatisfy({ pending[$0].message.app == app }) {
            byApp[app] = Array(pending.indices)
        } else {
            for index in pending.indices { byApp[pending[index].message.app, default: []].append(index) }
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        for (app, items) in byApp {
            guard let journal = runtime.journal(for: app) else {
                for index in items {
                    answer(
                        pending[index].slot,
                        JSONText.error("app: unknown app '\(app)'", id: pending[index].message.id, code: 404))
                }
                continue
            }
            let counters = runtime.counters
            let runtime = self.runtime
            let token = self.token
            journal.append(items.map { pending[$0].message.entry }) { result in
                eventLoop.execute {
                    let (session, context) = loopBound.value
                    switch result {
                    case .success:
                        counters.accepted(
                            app: app, kinds: items.lazy.map { (pending[$0].message.source, pending[$0].message.type) })
                        if let token, items.contains(where: { pending[$0].message.audit != nil }) {
                            runtime.auditAccepted(items.lazy.map { pending[$0].message }, token: token)
                        }
                        for index in items {
                            session.answer(pending[index].slot, JSONText.ok(id: pending[index].message.id))
                        }
                    case .failure(let rejection):
                        let (status, message) = ListenerRuntime.describe(rejection, app: app)
                        counters.rejected(status, count: items.count)
                        for index in items {
                            session.answer(
                                pending[index].slot,
                                JSONText.error(message, id: pending[index].message.id, code: status))
                        }
                    }
                    session.flushAnswers(context)
                }
            }
        }
    }

    private func flushAnswers(_ context: ChannelHandlerContext) {
        // Straight into the buffer that is written: joining the answers into one string first
        // copied every byte once more and grew that string as it went.
        var buffer: ByteBuffer?
        while let first = answers.first, let ready = first {
            buffer = buffer ?? context.channel.allocator.buffer(capacity: 256)
            buffer?.writeString(ready)
            answers.removeFirst()
            firstSlot += 1
        }
        if pausedForJournal, answers.count < Self.maxOutstanding / 2 {
            pausedForJournal = false
            updateReading(context)
        }
        guard let buffer, context.channel.isActive else { return }
        let bytes = buffer.readableBytes
        unread.add(bytes)
        let unread = self.unread
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            unread.remove(bytes)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Answer bytes queued in the TCP door for peers that have not read them yet, across connections:
/// past `doorLimit` a peer that stops reading is cut at once instead of after the stall deadline,
/// so many slow readers together cannot hold more than about this much.
final class UnreadAnswers: Sendable {
    static let doorLimit = 64 << 20
    private let bytes = Atomic<Int>(0)

    func add(_ count: Int) { bytes.wrappingAdd(count, ordering: .relaxed) }
    func remove(_ count: Int) { bytes.wrappingSubtract(count, ordering: .relaxed) }
    var isOverDoorLimit: Bool { bytes.load(ordering: .relaxed) > Self.doorLimit }
}
