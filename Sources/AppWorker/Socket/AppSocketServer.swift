import Foundation
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import Shared

/// Listens on `<run_dir>/<app>.sock`: delivery frames go to the scheduler loop in batches (one
/// batch per socket read), ops are answered at once from the status board.
struct AppSocketServer: Sendable {
    let path: SocketPath
    let board: StatusBoard
    let inbox: WorkerInbox
    /// The only uid allowed to send delivery frames (the listener's); ops are open to any peer.
    let frameUID: UInt32
    let inquiry: ExecutorInquiry
    let logger: Logger

    /// A line longer than this is not a frame the listener would send (messages are <= 64 KiB).
    static let maxLineBytes = 4 * 1024 * 1024

    func start(group: any EventLoopGroup) async throws -> any Channel {
        let board = self.board
        let inbox = self.inbox
        let logger = self.logger
        let frameUID = self.frameUID
        let inquiry = self.inquiry
        let channel = try await path.bindingPrivately {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                // `socat` half-closes after its input; keep the channel so acks still reach it.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { channel in
                    // NIO accepts without SOCK_CLOEXEC: keep the link out of a crash reporter's hands.
                    CloseOnExec.markAll()
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(LineBasedFrameDecoder(), maximumBufferSize: Self.maxLineBytes))
                        try channel.pipeline.syncOperations.addHandler(
                            AppSocketHandler(
                                board: board, inbox: inbox, frameUID: frameUID, inquiry: inquiry, logger: logger))
                    }
                }
                .bind(unixDomainSocketPath: path.path)
                .get()
        }
        CloseOnExec.markAll()
        path.restrictPermissions()
        return channel
    }
}

/// Where ack and error replies go: the connection the frames came in on.
struct ReplyChannel: Sendable {
    let channel: any Channel
    /// The connection's paced acks; nil sends each ack at once.
    var acks: AckPacer? = nil

    /// Sorted keys: the same answer reads the same in socat and in a diff.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func send(_ answer: some Encodable) {
        guard var data = try? Self.encoder.encode(answer) else { return }
        data.append(0x0A)
        channel.writeAndFlush(ByteBuffer(bytes: data), promise: nil)
    }

    /// Ends the link: the listener reconnects and asks `hello` again (after a refused commit).
    func close() {
        channel.close(promise: nil)
    }

    var id: ObjectIdentifier { ObjectIdentifier(channel) }

    func sendAck(_ seq: UInt64) {
        if let acks { return acks.ack(seq) }
        var buffer = channel.allocator.buffer(capacity: 24)
        AckFrame(seq: seq).write(into: &buffer)
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// An ack still held by the pacing goes now (the worker is stopping).
    func flushAcks() { acks?.flush() }
}

final class AppSocketHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let board: StatusBoard
    private let inbox: WorkerInbox
    private let logger: Logger
    private let frameUID: UInt32
    private let inquiry: ExecutorInquiry
    /// The peer's uid from SO_PEERCRED; nil until known or when the kernel would not say.
    private var peerUID: UInt32?
    private var pending: [InboundFrame] = []
    /// This connection's acks (set when it becomes active).
    private var acks: AckPacer?

    init(board: StatusBoard, inbox: WorkerInbox, frameUID: UInt32, inquiry: ExecutorInquiry, logger: Logger) {
        self.board = board
        self.inquiry = inquiry
        self.inbox = inbox
        self.frameUID = frameUID
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        // Answered at once on the event loop (the option is read synchronously there), so it is
        // known before the first line is parsed.
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        PeerCredentials.uid(of: context.channel).whenSuccess { uid in bound.value.peerUID = uid }
        acks = AckPacer(channel: context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        let reply = ReplyChannel(channel: context.channel, acks: acks)
        switch InboundLine.parse(line.readableBytesView) {
        case .frame(var frame):
            guard peerUID == frameUID else {
                // Not the listener: the frame is not applied and not acknowledged; the connection
                // stays open for ops.
                flushFrames(context: context)
                let who = peerUID.map { "uid \($0)" } ?? "a peer of unknown uid"
                reply.send(
                    WorkerRefusal(
                        error:
                            "delivery frames are accepted only from uid \(frameUID) (the listener; listener_uid in the app config), not from \(who)",
                        seq: frame.seq))
                return
            }
            if inbox.keepsLine(of: frame.seq) { frame.line = Array(line.readableBytesView) }
            pending.append(frame)
        case .gap(let gap):
            flushFrames(context: context)
            guard peerUID == frameUID else {
                reply.send(WorkerRefusal(error: "gap lines are accepted only from uid \(frameUID) (the listener)"))
                return
            }
            inbox.post(.gap(gap, reply))
        case .op(let op):
            flushFrames(context: context)
            switch op {
            // Answered by the loop, once the state is loaded, in order with the frames it applied.
            case .hello: inbox.post(.hello(reply))
            case .ping: reply.send(WorkerPong())
            case .status: reply.send(board.status())
            case .executors: reply.send(board.executors())
            case .events: reply.send(board.events())
            case .metrics: reply.send(board.metricsAnswer())
            case .lists: reply.send(board.lists())
            // Parsed as `.why` when it names an executor; this is `{"op":"why"}` alone.
            case .why: reply.send(WorkerRefusal(error: "op why needs \"executor\": an executor id"))
            }
        case .why(let executor):
            flushFrames(context: context)
            // Read from Redis off the event loop; its answer may follow those of later lines.
            let inquiry = self.inquiry
            Task {
                switch await inquiry.answer(executor) {
                case .success(let answer): reply.send(answer)
                case .failure(let refusal): reply.send(refusal)
                }
            }
        case .malformed(let seq, let reason):
            flushFrames(context: context)
            reply.send(WorkerRefusal(error: reason, seq: seq))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushFrames(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            flushFrames(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is ByteToMessageDecoderError.PayloadTooLargeError {
            ReplyChannel(channel: context.channel)
                .send(WorkerRefusal(error: "line longer than \(AppSocketServer.maxLineBytes) bytes; connection closed"))
        }
        logger.warning("app socket connection closed on error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func flushFrames(context: ChannelHandlerContext) {
        guard !pending.isEmpty else { return }
        inbox.post(.frames(pending, ReplyChannel(channel: context.channel, acks: acks)))
        pending.removeAll(keepingCapacity: true)
        inbox.throttle(context.channel)
    }
}
