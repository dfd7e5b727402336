/// Posts `.housekeeping` at a fixed short period, so dirty executors past `dirty_ttl` and list
/// entries past their TTL leave within that period of their deadline. A tick that finds nothing
/// due commits nothing.
struct HousekeepingClock: Sendable {
    var period: Duration = .milliseconds(500)

    func run(posting inbox: WorkerInbox) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: period)
            } catch {
                return
            }
            inbox.post(.schedulerEvent(.housekeeping))
        }
    }
}
