import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import Shared
import Synchronization

/// What the status endpoints show about one app's worker connection.
struct LinkStatus: Sendable, Equatable {
    var connected = false
    var lastDeliveredSeq: UInt64 = 0
    var connects = 0
    var ackedTotal: UInt64 = 0
}

/// The listener's one connection to an app worker's socket (DESIGN section 5): sends journal
/// records as delivery frames in batches, advances the journal on cumulative acks, reconnects with
/// backoff and jitter, and replays from the last acknowledged seq. All state lives on one event loop.
final class WorkerLink: @unchecked Sendable {
    let app: String
    let socketPath: String
    let journal: any Journal
    private let eventLoop: any EventLoop
    private let logger: Logger

    private var cursor: ForwardCursor
    private var backoff = Backoff.workerLink
    private var channel: (any Channel)?
    private var stopped = false
    private var connecting = false
    private let frames: DeliveryFrame.Writer
    private let pumpScheduled = Atomic<Bool>(false)
    private let statusBox = NIOLockedValueBox(LinkStatus())
    private var lastWorkerError: ContinuousClock.Instant?

    static let batchMessages = 1024
    static let batchBytes = 1 << 20

    init(
        app: String, socketPath: String, journal: any Journal, eventLoop: any EventLoop, logger: Logger,
        window: Int = 16_384
    ) {
        self.app = app
        self.socketPath = socketPath
        self.journal = journal
        self.eventLoop = eventLoop
        self.logger = logger
        let acked = journal.ackedSeqNow
        self.cursor = ForwardCursor(acked: acked, window: window)
        self.frames = DeliveryFrame.Writer(epoch: journal.epoch)
    }

    var status: LinkStatus { statusBox.withLockedValue { $0 } }

    func start() {
        journal.setDurableListener { [weak self] in self?.recordsAvailable() }
        eventLoop.execute { self.connect() }
    }

    func stop() async {
        journal.setDurableListener(nil)
        let future: EventLoopFuture<Void> = eventLoop.flatSubmit {
            self.stopped = true
            guard let channel = self.channel else { return self.eventLoop.makeSucceededVoidFuture() }
            return channel.close().recover { _ in }
        }
        try? await future.get()
    }

    /// From the journal writer thread: new durable records. Coalesced into one pump on the loop.
    func recordsAvailable() {
        guard !pumpScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        eventLoop.execute {
            self.pumpScheduled.store(false, ordering: .releasing)
            self.pump()
        }
    }

    // MARK: Connection

    private func connect() {
        guard !stopped, channel == nil, !connecting else { return }
        connecting = true
        ClientBootstrap(group: eventLoop)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(AckReader(link: self))
                }
            }
            .connect(unixDomainSocketPath: socketPath)
            .whenComplete { [self] result in
                connecting = false
                switch result {
                case .success(let channel):
                    guard !stopped else {
                        channel.close(promise: nil)
                        return
                    }
                    self.channel = channel
                    backoff.reset()
                    cursor.connected(acked: journal.ackedSeqNow)
                    statusBox.withLockedValue {
                        $0.connected = true
                        $0.connects += 1
                    }
                    logger.info(
                        "connected to worker",
                        metadata: ["socket": .string(socketPath), "replay_from": "\(cursor.nextToSend)"])
                    channel.closeFuture.whenComplete { [self] _ in disconnected(channel) }
                    pump()
                case .failure:
                    scheduleReconnect()
                }
            }
    }

    private func disconnected(_ closed: any Channel) {
        guard channel === closed else { return }
        channel = nil
        statusBox.withLockedValue { $0.connected = false }
        if !stopped {
            logger.warning("worker connection lost; journaling continues", metadata: ["socket": .string(socketPath)])
            scheduleReconnect()
        }
    }

    private func scheduleReconnect() {
        guard !stopped else { return }
        let delay = backoff.next()
        eventLoop.scheduleTask(
            in: .nanoseconds(
                Int64(delay.components.seconds) * 1_000_000_000
                    + delay.components.attoseconds / 1_000_000_000)
        ) { [self] in
            connect()
        }
    }

    // MARK: Sending

    private func pump() {
        guard let channel, channel.isActive else { return }
        var wrote = false
        var last: UInt64 = 0
        while cursor.room > 0 {
            let batch = journal.records(
                from: cursor.nextToSend, maxCount: min(cursor.room, Self.batchMessages),
                maxBytes: Self.batchBytes)
            guard let final = batch.last else { break }
            var bytes = 0
            for record in batch { bytes += frames.frameSize(envelopeBytes: record.envelope.count) }
            var buffer = channel.allocator.buffer(capacity: bytes)
            for record in batch { frames.write(seq: record.seq, at: nil, envelope: record.envelope, into: &buffer) }
            channel.write(buffer, promise: nil)
            cursor.sent(through: final.seq)
            last = final.seq
            wrote = true
        }
        if wrote {
            channel.flush()
            statusBox.withLockedValue { $0.lastDeliveredSeq = last }
        }
    }

    fileprivate func received(line: ByteBuffer) {
        if let ack = AckFrame.parse(line.readableBytesView)?.seq {
            let before = cursor.acked
            if let acked = cursor.acknowledged(ack) {
                journal.acknowledge(acked)
                statusBox.withLockedValue { $0.ackedTotal += acked - before }
            }
            pump()
            return
        }
        // Anything else (an error frame): log it at most once a second, naming the seq only (its
        // text may quote message fields, which stay out of the logs).
        let now = ContinuousClock.now
        if lastWorkerError.map({ now - $0 > .seconds(1) }) ?? true {
            lastWorkerError = now
            let refusal = try? JSONDecoder().decode(WorkerRefusal.self, from: Data(line.readableBytesView))
            let seq = refusal?.seq.map { "\($0)" } ?? "-"
            logger.warning("worker refused a frame; see the worker's log", metadata: ["seq": .string(seq)])
        }
    }
}

private final class AckReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let link: WorkerLink

    init(link: WorkerLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        link.received(line: unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
