import AsyncHTTPClient
import Logging
import Shared

/// Probes one host every `interval` and posts a host event into the inbox when the fall/rise
/// rule changes its state. One monitor (one task) per host, so a slow host never delays another.
struct HostMonitor: Sendable {
    let host: String
    let probe: Probe
    let http: HTTPClient
    let inbox: WorkerInbox
    let logger: Logger

    func run() async {
        var counter = ProbeCounter(host: host, fall: probe.fall, rise: probe.rise)
        let check = HostProbe(target: probe.target, timeout: probe.interval, http: http)
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled {
            let outcome = await check.check()
            if let report = counter.record(outcome) {
                // Logged once per change, like the Redis state.
                if report.up {
                    logger.notice("host up", metadata: ["host": "\(host)", "probe": "\(report.detail)"])
                } else {
                    logger.error(
                        "host down; its executors are replaced on other hosts",
                        metadata: [
                            "host": "\(host)", "failures": "\(report.failures)", "probe": "\(report.detail)",
                        ])
                }
                inbox.post(.schedulerEvent(.host(report)))
            }
            // Fixed rate: a slow probe shortens the wait instead of stretching the period.
            next = max(next.advanced(by: probe.interval), clock.now)
            do { try await Task.sleep(until: next, clock: clock) } catch { return }
        }
    }
}
