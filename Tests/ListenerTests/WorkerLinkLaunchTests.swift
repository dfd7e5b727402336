import Foundation
import Logging
import NIOPosix
import Shared
import TestSupport
import Testing

@testable import Listener

/// A worker the supervisor has just started is connected to at once, not after the link's
/// reconnect backoff (issue 15: a restarted worker's first ack waited up to that backoff). The
/// backoff here is 30 s, so a connect inside the test's few seconds can only be the launch notice's.
@Suite struct WorkerLinkLaunchTests {
    let directory: String

    init() throws {
        directory = try TempDirectory.make(prefix: "link-launch").path
    }

    /// A link to `<dir>/shop.sock` whose first connect has failed (no socket yet): the next one is
    /// 30 s away.
    private func linkWaitingOnItsBackoff() throws -> (link: WorkerLink, socket: String) {
        let socket = directory + "/shop.sock"
        let journal = try FileJournal.open(
            app: "shop", directory: directory + "/journal",
            options: .init(fsync: .batch, maxBacklogBytes: 1 << 20), logger: Logger(label: "test"))
        let link = WorkerLink(
            app: "shop", socketPath: socket, journal: journal,
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: Logger(label: "test"),
            reconnectBackoff: Backoff(initial: .seconds(30), maximum: .seconds(30), jitter: 0))
        link.start()
        usleep(100_000)
        return (link, socket)
    }

    private func connections(_ worker: ScriptedWorker, atLeast count: Int, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if worker.snapshot.connections >= count { return true }
            usleep(10_000)
        }
        return worker.snapshot.connections >= count
    }

    @Test func aSocketThatAppearsDuringTheBackoffWaitsForItWithoutANotice() async throws {
        let (link, socket) = try linkWaitingOnItsBackoff()
        let worker = try ScriptedWorker(path: socket)
        defer { worker.stop() }
        #expect(!connections(worker, atLeast: 1, within: 1.5), "connected before the backoff ran out")
        await link.stop()
    }

    @Test func aLaunchNoticeConnectsAtOnce() async throws {
        let (link, socket) = try linkWaitingOnItsBackoff()
        let worker = try ScriptedWorker(path: socket)
        defer { worker.stop() }
        link.workerLaunched()
        #expect(connections(worker, atLeast: 1, within: 5))
        await link.stop()
    }

    /// The usual order: the notice comes when the process starts, its socket a few hundred ms
    /// later; connects are retried until it is there.
    @Test func aLaunchNoticeBeforeTheSocketExistsRetriesUntilItDoes() async throws {
        let (link, socket) = try linkWaitingOnItsBackoff()
        link.workerLaunched()
        usleep(400_000)
        let worker = try ScriptedWorker(path: socket)
        defer { worker.stop() }
        #expect(connections(worker, atLeast: 1, within: 4))
        await link.stop()
    }
}
