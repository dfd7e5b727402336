import Foundation
import Logging
import Scheduling

/// Every `reconcile_every`, asks each host's driver which executors of the app it runs and posts
/// the lists to the scheduler loop, which compares them with the pools (DESIGN section 7).
struct OnlineChecker: Sendable {
    let drivers: [String: any Driver]
    let every: Duration
    let inbox: WorkerInbox
    let logger: Logger

    func run() async {
        guard every > .zero else { return }
        while true {
            do { try await Task.sleep(for: every) } catch { return }
            inbox.post(.schedulerEvent(.onlineCheck(await check())))
        }
    }

    /// Lists `hosts` off the loop and posts the report, outside the periodic check (a host back
    /// up, see `ExecutorPool.hostUp`). Nothing when the online check is off (`reconcile_every: 0`).
    func checkSoon(hosts: Set<String>) {
        guard every > .zero else { return }
        Task { inbox.post(.schedulerEvent(.onlineCheck(await check(hosts: hosts)))) }
    }

    /// Lists the hosts at once (nil: all of them); a host whose driver fails or hangs is reported
    /// as failed.
    func check(hosts: Set<String>? = nil) async -> OnlineCheckReport {
        let startedAt = SchedulerLoop.now()
        var report = OnlineCheckReport(listed: [:], failed: [:], startedAt: startedAt)
        await withTaskGroup(of: (String, Result<(ids: [String], stopped: Set<String>), any Error>).self) { group in
            for (host, driver) in drivers where hosts?.contains(host) ?? true {
                group.addTask {
                    do {
                        let listing = try await withDeadline(
                            driver.actionTimeout,
                            "list on host \(host) gave no answer in time"
                        ) {
                            try await driver.listWithStopped()
                        }
                        return (host, .success(listing))
                    } catch {
                        return (host, .failure(error))
                    }
                }
            }
            for await (host, result) in group {
                switch result {
                case .success(let listing):
                    report.listed[host] = listing.ids
                    if !listing.stopped.isEmpty { report.stopped[host] = listing.stopped }
                case .failure(let error):
                    report.failed[host] = "\(error)"
                    logger.warning("online check: list failed", metadata: ["host": "\(host)", "error": "\(error)"])
                }
            }
        }
        return report
    }
}
