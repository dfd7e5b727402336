import Foundation
import Logging
import NIOPosix
import Scheduling
import Testing

@testable import AppWorker

/// The listing at host up (`OnlineChecker.checkSoon`): only the hosts asked for, and none when
/// `reconcile_every: 0` turns the online check off.
struct OnlineCheckerTests {
    /// A stand-in host whose driver lists fixed ids.
    struct ListingDriver: Driver {
        var ids: [String]
        var actionTimeout: Duration { .seconds(1) }
        func create(_ target: DriverTarget) async throws -> String { "127.0.0.1:1" }
        func clean(_ target: DriverTarget) async throws -> String? { nil }
        func remove(_ target: DriverTarget) async throws {}
        func list() async throws -> [String] { ids }
    }

    static func checker(every: Duration, inbox: WorkerInbox) -> OnlineChecker {
        OnlineChecker(
            drivers: ["h1": ListingDriver(ids: ["e1"]), "h2": ListingDriver(ids: ["e2"])], every: every,
            inbox: inbox, logger: Logger(label: "test"))
    }

    @Test func aHostBackUpIsListedAloneAndPostedToTheLoop() async {
        let inbox = WorkerInbox(timers: MultiThreadedEventLoopGroup.singleton.next())
        Self.checker(every: .seconds(30), inbox: inbox).checkSoon(hosts: ["h1"])
        var inputs = inbox.stream.makeAsyncIterator()
        guard case .schedulerEvent(.onlineCheck(let report))? = await inputs.next() else {
            Issue.record("the listing is posted as an online check")
            return
        }
        #expect(report.listed == ["h1": ["e1"]] && report.failed.isEmpty)
    }

    @Test func nothingIsListedWhenTheOnlineCheckIsOff() async throws {
        let inbox = WorkerInbox(timers: MultiThreadedEventLoopGroup.singleton.next())
        Self.checker(every: .zero, inbox: inbox).checkSoon(hosts: ["h1"])
        try await Task.sleep(for: .milliseconds(300))
        inbox.post(.schedulerEvent(.housekeeping))
        inbox.close()
        var inputs = inbox.stream.makeAsyncIterator()
        guard case .schedulerEvent(.housekeeping)? = await inputs.next() else {
            Issue.record("no listing may come before the marker")
            return
        }
        #expect(await inputs.next() == nil)
    }
}
