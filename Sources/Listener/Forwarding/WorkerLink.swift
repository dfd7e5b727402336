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
    /// The owner of the socket last refused for not being `worker_uid`; nil once connected.
    var refusedOwner: String?
}

/// The listener's one connection to an app worker's socket (DESIGN sections 5 and 10): greets the
/// worker with `{"op":"hello"}` and waits for where it stands, replays from there (rewinding the
/// journal when the worker's Redis lost writes, a gap line when the records are gone), sends
/// journal records as delivery frames in batches, advances the journal on cumulative acks, and
/// reconnects with backoff and jitter. All state lives on one event loop.
final class WorkerLink: @unchecked Sendable {
    /// Where the current connection stands: no frame goes out before the hello was answered.
    private enum Phase {
        case idle
        case greeting
        case rewinding
        case forwarding
    }

    let app: String
    let socketPath: String
    let journal: any Journal
    private let eventLoop: any EventLoop
    private let logger: Logger

    private var cursor: ForwardCursor
    private var backoff: Backoff
    /// Until then a failed connect is tried again every `launchRetry` (see `workerLaunched`).
    private var launchRetryUntil: NIODeadline?
    private var scheduledReconnect: Scheduled<Void>?
    private var channel: (any Channel)?
    private var stopped = false
    private var connecting = false
    private let frames: DeliveryFrame.Writer
    private let pumpScheduled = Atomic<Bool>(false)
    private let statusBox = NIOLockedValueBox(LinkStatus())
    private var lastWorkerError: ContinuousClock.Instant?
    private var phase = Phase.idle
    private var helloDeadline: Scheduled<Void>?

    static let batchMessages = 1024
    static let batchBytes = 1 << 20
    /// The worker answers hello once it has loaded its state from Redis, which may wait for Redis;
    /// past this the connection is closed and tried again with backoff.
    let helloTimeout: TimeAmount
    /// `worker_uid` of the app config: the socket's listener must be this uid (SO_PEERCRED).
    let workerUID: UInt32?
    /// After a launch notice: how long connects are retried every `launchRetry` instead of with
    /// backoff. A started worker listens once it has loaded its state, within a second or two even
    /// on a loaded machine.
    static let launchWindow: TimeAmount = .seconds(5)
    static let launchRetry: TimeAmount = .milliseconds(10)

    init(
        app: String, socketPath: String, journal: any Journal, eventLoop: any EventLoop, logger: Logger,
        window: Int = 16_384, helloTimeout: TimeAmount = .seconds(5), workerUID: UInt32? = nil,
        reconnectBackoff: Backoff = .workerLink
    ) {
        self.workerUID = workerUID
        self.backoff = reconnectBackoff
        self.helloTimeout = helloTimeout
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

    /// From the supervisor: a worker for this app was just started. Its socket appears within a
    /// few hundred ms, while the backoff, grown since the old worker went away, could put the next
    /// connect up to its maximum later: the restarted worker's first ack waited for that (issue
    /// 15's recovery figure spread from 107 to 564 ms). So connect now, and for `launchWindow`
    /// retry every `launchRetry`.
    func workerLaunched() {
        eventLoop.execute { [self] in
            launchRetryUntil = .now() + Self.launchWindow
            guard !stopped, channel == nil, !connecting else { return }
            scheduledReconnect?.cancel()
            scheduledReconnect = nil
            connect()
        }
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
                    channel.closeFuture.whenComplete { [self] _ in disconnected(channel) }
                    verifyPeer(channel)
                case .failure:
                    scheduleReconnect()
                }
            }
    }

    /// With `worker_uid`, the process that listens on the socket must run as that uid, as the
    /// kernel recorded it (SO_PEERCRED): on a run_dir several apps' workers can write to, another
    /// app's worker could bind this app's socket while its own worker is down, and would be
    /// handed this app's frames. A wrong owner is refused like a failed connect.
    private func verifyPeer(_ channel: any Channel) {
        guard let expected = workerUID else { return greet(channel) }
        guard let provider = channel as? any SocketOptionProvider else {
            logger.error(
                "cannot read the worker socket's owner; not forwarding", metadata: ["socket": .string(socketPath)])
            channel.close(promise: nil)
            return
        }
        let credential: EventLoopFuture<PeerCredential.UCred> = provider.unsafeGetSocketOption(
            level: .socket, name: .init(rawValue: PeerCredential.option))
        credential.whenComplete { [self] result in
            switch result {
            case .success(let peer) where peer.uid == expected:
                greet(channel)
            case .success(let peer):
                statusBox.withLockedValue { $0.refusedOwner = "uid \(peer.uid) (pid \(peer.pid))" }
                logger.error(
                    "the process on the worker socket is not the app's worker; not forwarding",
                    metadata: [
                        "socket": .string(socketPath), "expected_uid": "\(expected)", "found_uid": "\(peer.uid)",
                        "found_pid": "\(peer.pid)",
                        "fix": "stop that process, or correct worker_uid in the app config",
                    ])
                channel.close(promise: nil)
            case .failure(let error):
                logger.error(
                    "cannot read the worker socket's owner; not forwarding",
                    metadata: ["socket": .string(socketPath), "error": "\(error)"])
                channel.close(promise: nil)
            }
        }
    }

    /// The first line on every connection; frames wait for the answer.
    private func greet(_ channel: any Channel) {
        phase = .greeting
        channel.writeAndFlush(channel.allocator.buffer(string: SocketOp.hello.line), promise: nil)
        helloDeadline = eventLoop.scheduleTask(in: helloTimeout) { [self] in
            guard self.channel === channel, phase == .greeting else { return }
            logger.warning(
                "worker did not answer hello in time; reconnecting",
                metadata: ["socket": .string(socketPath), "timeout_ms": "\(helloTimeout.nanoseconds / 1_000_000)"])
            channel.close(promise: nil)
        }
    }

    /// The worker's first line: where it stands (or an error line from a build without hello).
    private func answered(hello line: ByteBuffer, on channel: any Channel) {
        helloDeadline?.cancel()
        helloDeadline = nil
        let position = WorkerHello.parse(line.readableBytesView)?.hello
        if position == nil {
            logger.notice(
                "worker does not answer hello (an older build?); forwarding from the acknowledged seq",
                metadata: ["socket": .string(socketPath)])
        }
        switch HelloPlan.decide(position, epoch: journal.epoch, acked: journal.ackedSeqNow) {
        case .fromAcked:
            startForwarding(on: channel, gap: nil)
        case .acknowledge(let seq):
            journal.acknowledge(seq)
            startForwarding(on: channel, gap: nil)
        case .rewind(let target):
            phase = .rewinding
            // Disk reads happen on the journal's thread, never here.
            journal.rewind(to: target) { [self] outcome in
                eventLoop.execute {
                    guard self.channel === channel, self.phase == .rewinding else { return }
                    self.startForwarding(on: channel, gap: outcome.gap)
                }
            }
        }
    }

    private func startForwarding(on channel: any Channel, gap: ClosedRange<UInt64>?) {
        phase = .forwarding
        backoff.reset()
        launchRetryUntil = nil
        cursor.restart(acked: journal.ackedSeqNow)
        statusBox.withLockedValue {
            $0.connected = true
            $0.connects += 1
            $0.refusedOwner = nil
        }
        if let gap {
            let line = GapFrame(epoch: journal.epoch, from: gap.lowerBound, to: gap.upperBound).line
            channel.write(channel.allocator.buffer(string: line), promise: nil)
        }
        logger.info(
            "connected to worker",
            metadata: ["socket": .string(socketPath), "replay_from": "\(cursor.nextToSend)"])
        pump()
        channel.flush()
    }

    private func disconnected(_ closed: any Channel) {
        guard channel === closed else { return }
        channel = nil
        phase = .idle
        helloDeadline?.cancel()
        helloDeadline = nil
        statusBox.withLockedValue { $0.connected = false }
        if !stopped {
            logger.warning("worker connection lost; journaling continues", metadata: ["socket": .string(socketPath)])
            scheduleReconnect()
        }
    }

    private func scheduleReconnect() {
        guard !stopped else { return }
        let delay: TimeAmount
        if let until = launchRetryUntil, NIODeadline.now() < until {
            delay = Self.launchRetry
        } else {
            launchRetryUntil = nil
            delay = TimeAmount(backoff.next())
        }
        scheduledReconnect = eventLoop.scheduleTask(in: delay) { [self] in
            scheduledReconnect = nil
            connect()
        }
    }

    // MARK: Sending

    private func pump() {
        guard phase == .forwarding, let channel, channel.isActive else { return }
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
            // Voided records (a multi-app part another journal could not take) go as one void gap
            // line per run: the worker skips them without counting them lost.
            var voided: ClosedRange<UInt64>?
            for record in batch {
                if record.voided {
                    voided = (voided?.lowerBound ?? record.seq)...record.seq
                    continue
                }
                if let range = voided {
                    writeVoid(range, into: &buffer)
                    voided = nil
                }
                frames.write(seq: record.seq, at: record.at, envelope: record.envelope, into: &buffer)
            }
            if let range = voided { writeVoid(range, into: &buffer) }
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

    private func writeVoid(_ range: ClosedRange<UInt64>, into buffer: inout ByteBuffer) {
        buffer.writeString(
            GapFrame(epoch: journal.epoch, from: range.lowerBound, to: range.upperBound, void: true).line)
    }

    fileprivate func received(line: ByteBuffer) {
        switch phase {
        case .greeting:
            if let channel { answered(hello: line, on: channel) }
            return
        case .idle, .rewinding:
            // Nothing is in flight before forwarding starts: there is nothing to acknowledge.
            return
        case .forwarding:
            break
        }
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
