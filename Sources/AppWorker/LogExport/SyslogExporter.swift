import Foundation
import Logging
import NIOCore
import NIOSSL
import Shared
import Synchronization

extension Backoff {
    /// Reconnects to a syslog collector (and re-reads after a Redis error): 100 ms doubling to 5 s.
    static var syslogReconnect: Backoff { Backoff(initial: .milliseconds(100), maximum: .seconds(5), jitter: 0.2) }
}

/// Sends every committed event of the app's stream to the site's syslog collector (issue 18
/// item 2), in stream order, as RFC 5424 over TCP or TLS.
///
/// It reads the events back from the stream instead of taking them from the scheduler loop: what
/// it sends is then exactly what a commit persisted (a refused or failed commit wrote no event),
/// the loop never waits for it, and the stream is a queue that survives a restart. Delivery is
/// at least once across a worker restart: the cursor is stored after a batch is written, so a
/// worker killed between the two sends that batch again (same `event_id`). A collector that dies
/// with events in flight loses them without the exporter knowing (syslog over TCP has no
/// acknowledgements); one that is down is waited for, and only events the stream trimmed before
/// they could be sent are lost, counted in `dropped`.
final class SyslogExporter: Sendable {
    /// Events per read and per write.
    static let batchLimit = 256
    /// How often a disconnected exporter checks whether its backoff has run out.
    static let tick: Duration = .milliseconds(200)

    private let settings: LogExportSettings
    private let stream: EventStreamCursor
    private let origin: SyslogOrigin
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<LogExportStatus>
    private let committed = Atomic(false)
    private let stopping = Atomic(false)
    /// False until the worker's fence is claimed (`--fence`) and again once it is lost; true from
    /// the start without one. A worker whose token turns out older never sends anything, and one
    /// that lost the app leaves its events to the new owner's exporter.
    private let claimed: Atomic<Bool>
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// `redis` is the exporter's own client, so its reads never queue behind a commit or hold one
    /// up; `run` closes it when it ends.
    /// `fence`: the worker's fencing token (`--fence`); with it the cursor is stored only while the
    /// app's fence is still the worker's, and the exporter stops once it is not.
    init(
        settings: LogExportSettings, app: String, redis: RedisClient, group: any EventLoopGroup, logger: Logger,
        fence: UInt64? = nil
    ) throws {
        self.settings = settings
        self.stream = EventStreamCursor(keys: RedisKeys(app: app), redis: redis, fence: fence)
        self.origin = SyslogOrigin(
            app: app, facility: settings.facility, hostname: settings.hostname, procID: getpid())
        self.tls = try settings.tls.map(SyslogConnection.tlsContext)
        self.group = group
        self.logger = logger
        self.state = Mutex(LogExportStatus(target: settings.syslog.description))
        self.claimed = Atomic(fence == nil)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    var status: LogExportStatus { state.withLock { $0 } }

    /// The scheduler loop committed a batch with events; returns at once.
    func eventsCommitted() {
        committed.store(true, ordering: .releasing)
        wake.yield()
    }

    /// The scheduler loop claimed the worker's fence: exporting may begin.
    func fenceClaimed() {
        claimed.store(true, ordering: .releasing)
        wake.yield()
    }

    /// The scheduler loop found the fence taken by a newer owner: nothing more is sent or stored.
    func fenceLost() {
        claimed.store(false, ordering: .releasing)
    }

    /// Ends `run` after one last pass, which sends what the last commit added if the collector is there.
    func stop() {
        stopping.store(true, ordering: .releasing)
        wake.yield()
        wake.finish()
    }

    func run() async {
        let wake = self.wake
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.tick)
                wake.yield()
            }
        }
        var session = Session()
        for await _ in wakeups {
            await pass(&session)
        }
        ticker.cancel()
        if session.cursorUnsaved, let cursor = session.cursor { try? await stream.save(cursor) }
        await session.connection?.close()
        await stream.redis.close()
    }

    /// What one run of the exporter holds between passes; only `run`'s task touches it.
    private struct Session {
        var cursor: ExportCursor?
        var cursorUnsaved = false
        var connection: SyslogConnection?
        /// Starts true: a new worker first catches up with what it has not sent.
        var needsRead = true
        var backoff = Backoff.syslogReconnect
        var notBefore = ContinuousClock.now
        var failing = false
        /// The app's fence is not the worker's any more: a newer owner's exporter sends its events.
        var fenced = false
    }

    private func pass(_ session: inout Session) async {
        if committed.exchange(false, ordering: .acquiring) { session.needsRead = true }
        let isStopping = stopping.load(ordering: .acquiring)
        guard claimed.load(ordering: .acquiring), !session.fenced, ContinuousClock.now >= session.notBefore else {
            return
        }
        do {
            let connection = try await connected(&session)
            guard session.needsRead else { return }
            if session.cursor == nil { session.cursor = try await stream.load() }
            while var cursor = session.cursor {
                let batch = try await stream.read(after: cursor, limit: Self.batchLimit)
                if batch.trimmed > 0 {
                    cursor.dropped = cursor.dropped.addingReportingOverflow(batch.trimmed).partialValue
                    cursor.ordinal = batch.firstOrdinal - 1
                    session.cursor = cursor
                    session.cursorUnsaved = true
                    state.withLock { $0.dropped = cursor.dropped }
                    logger.error(
                        "syslog export: the events stream trimmed events before they were sent",
                        metadata: ["dropped": "\(batch.trimmed)", "after": "\(cursor.lastID)"])
                }
                guard let last = batch.events.last else {
                    if session.cursorUnsaved {
                        try await stream.save(cursor)
                        session.cursorUnsaved = false
                    }
                    session.needsRead = false
                    break
                }
                var bytes: [UInt8] = []
                for event in batch.events { bytes += SyslogRecord.frame(event, origin: origin) }
                do {
                    try await connection.send(bytes)
                } catch {
                    session.connection = nil
                    await connection.close()
                    throw error
                }
                let (through, _) = batch.firstOrdinal.addingReportingOverflow(Int64(batch.events.count - 1))
                cursor.lastID = last.id
                cursor.ordinal = through
                session.cursor = cursor
                session.cursorUnsaved = true
                state.withLock {
                    $0.sent += Int64(batch.events.count)
                    $0.lastSentID = last.id
                    $0.dropped = cursor.dropped
                }
                try await stream.save(cursor)
                session.cursorUnsaved = false
                if batch.events.count < Self.batchLimit || isStopping {
                    session.needsRead = false
                    break
                }
            }
            recovered(&session)
        } catch let lost as FenceLost {
            session.fenced = true
            session.cursorUnsaved = false
            state.withLock { $0.lastError = lost.message }
            logger.error("syslog export stopped: \(lost.message)")
        } catch {
            failed(&session, error)
        }
    }

    /// The open connection, or a new one.
    private func connected(_ session: inout Session) async throws -> SyslogConnection {
        if let connection = session.connection, connection.isActive { return connection }
        if let stale = session.connection {
            session.connection = nil
            await stale.close()
        }
        let generation = state.withLock { status in
            status.connects += 1
            return status.connects
        }
        let connection = try await SyslogConnection.open(
            to: settings.syslog, tls: tls, serverName: settings.tls?.serverName, group: group
        ) { [self] in
            // A later connection's state is not this one's to clear.
            state.withLock { if $0.connects == generation { $0.connected = false } }
        }
        state.withLock { if $0.connects == generation { $0.connected = connection.isActive } }
        session.connection = connection
        // Whatever the last connection had in flight is gone or sent; the stream says what is next.
        session.needsRead = true
        logger.notice("syslog collector connected", metadata: ["target": "\(settings.syslog)"])
        return connection
    }

    private func recovered(_ session: inout Session) {
        session.backoff.reset()
        if session.failing {
            session.failing = false
            state.withLock { $0.lastError = nil }
        }
    }

    private func failed(_ session: inout Session, _ error: any Error) {
        session.needsRead = true
        session.notBefore = ContinuousClock.now + session.backoff.next()
        let reason = "\(error)"
        state.withLock { $0.lastError = reason }
        if !session.failing {
            session.failing = true
            logger.warning(
                "syslog export paused; retrying with backoff",
                metadata: ["target": "\(settings.syslog)", "error": "\(reason)"])
        }
    }
}
