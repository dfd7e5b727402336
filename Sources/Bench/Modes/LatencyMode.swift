import ArgumentParser
import Foundation
import Histogram
import Shared

/// Abnormal trigger to publish: under a steady background load, a critical WAF alert naming one
/// online executor of app b0 is sent every `interval`; the time is taken from just before the
/// write to the moment a subscriber of `mimic:b0:online` reads the first publication that no
/// longer lists that executor.
struct LatencyMode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency")

    @OptionGroup var common: CommonOptions
    @Option(help: "Background load, msgs/s (TCP, mix, over all apps).") var rate = 10_000.0
    @Option(help: "Seconds of triggers per run.") var seconds = 20.0
    @Option(help: "Milliseconds between triggers.") var intervalMs = 100.0
    @Option(help: "Apps (the trigger goes to the first).") var apps = 2
    @Option(help: "Background TCP connections.") var connections = 2
    @Option(
        help:
            "Standby executors per app. Each trigger uses one up; with none ready the flagged executor waits for a hook (reported as starved)."
    ) var standby = 2

    func run() throws {
        print(common.machineLine())
        print(
            "latency: background \(Int(rate)) msgs/s over \(apps) apps, trigger every \(intervalMs) ms for \(seconds) s, "
                + "fsync \(common.fsync), hooks \(common.hooks)")
        var report = Report(mode: "latency")
        var merged = Stats.histogram([])
        var mergedReady = Stats.histogram([])
        var mergedJournaled = Stats.histogram([])
        var mergedAfterJournal = Stats.histogram([])
        var mergedWakeups = Stats.histogram([])
        var mergedHops = Stats.histogram([])
        for run in 1...common.runs {
            try common.withEnvironment(apps: apps, standby: standby) { environment in
                let floor = Stats.histogram(
                    try Baseline.redisPublishLatencies(port: environment.redisPort, samples: 300))
                let (syncLatencies, syncCPU) = try Baseline.fdatasyncFloor(
                    directory: environment.directory + "/journal")
                let sync = Stats.histogram(syncLatencies)
                let wakeup = try WakeupFloor.measure()
                var executors: [String: [String]] = [:]
                for app in environment.appNames { executors[app] = try environment.onlineExecutors(app) }
                let workload = Workload(executors: executors, apps: environment.appNames)
                let background = TCPLoad(
                    workload: workload, stream: "r\(run)bg", total: Int(rate * (seconds + 1)),
                    connections: connections)
                let probe = try TriggerProbe(environment: environment, app: environment.appNames[0])
                let started = monotonicNanos()
                try background.start(port: environment.tcpPort, rate: rate)
                sleepMillis(500)  // let the background reach its pace
                let trigger = environment.appNames[0]
                let stagesBefore = try PathStages.scrape(adminPort: environment.adminPort, app: trigger)
                let cpuBefore = try CPUSample.take(environment)
                let machineBefore = MachineBusy.sample()
                let switchesBefore = try ContextSwitches.take(environment)
                let loadedWakeups = try LoadedWakeups()
                let triggersStarted = monotonicNanos()
                let outcome: TriggerProbe.Outcome
                do {
                    outcome = try probe.run(seconds: seconds, intervalMs: intervalMs, run: run)
                } catch {
                    _ = loadedWakeups.stop()
                    throw error
                }
                let wakeupDelays = loadedWakeups.stop()
                let wakeupsUnderLoad = Stats.histogram(wakeupDelays)
                let hopsUnderLoad = Stats.histogram(LoadedWakeups.pathSums(of: wakeupDelays))
                mergedWakeups.add(wakeupsUnderLoad)
                mergedHops.add(hopsUnderLoad)
                let cpu = try CPUSample.take(environment) - cpuBefore
                let switches = try ContextSwitches.take(environment) - switchesBefore
                let busy = machineBefore.flatMap { before in MachineBusy.sample()?.fraction(since: before) }
                let triggersEnded = monotonicNanos()
                let stages = try PathStages.scrape(adminPort: environment.adminPort, app: trigger)
                    .since(stagesBefore)
                background.join()
                // The background's own answers (journaled, 202): a tail here is before forwarding.
                let answers = Stats.histogram(
                    background.runs.flatMap { $0.latencies(app: { _ in true }, window: started...monotonicNanos()) })
                // The background messages sent while the triggers ran: what that window's CPU served.
                let sentDuring = max(
                    1,
                    background.runs.reduce(0) {
                        $0 + $1.latencies(app: { _ in true }, window: triggersStarted...triggersEnded).count
                    })
                let backgroundRate = Double(background.oks) / (Double(monotonicNanos() - started) / 1e9)
                probe.stop()
                let histogram = Stats.histogram(outcome.latencies)
                merged.add(histogram)
                report.add("trigger_p50_ms", Stats.millis(histogram, 50), unit: "ms")
                report.add("trigger_p99_ms", Stats.millis(histogram, 99), unit: "ms (target <= 2)")
                report.add("trigger_p999_ms", Stats.millis(histogram, 99.9), unit: "ms")
                report.add("trigger_max_ms", Double(histogram.max) / 1000, unit: "ms")
                let ready = Stats.histogram(outcome.ready)
                mergedReady.add(ready)
                report.add("ready_p50_ms", Stats.millis(ready, 50), unit: "ms (a standby was ready: the path alone)")
                report.add("ready_p99_ms", Stats.millis(ready, 99), unit: "ms")
                report.add("ready_p999_ms", Stats.millis(ready, 99.9), unit: "ms")
                let journaled = Stats.histogram(outcome.journaled)
                let afterJournal = Stats.histogram(outcome.afterJournal)
                mergedJournaled.add(journaled)
                mergedAfterJournal.add(afterJournal)
                for percentile in [50.0, 99.0] {
                    report.add(
                        "trigger_journaled_p\(Int(percentile))_ms", Stats.millis(journaled, percentile),
                        unit: "ms (send -> the trigger's own ok: the listener)")
                    report.add(
                        "trigger_after_journal_p\(Int(percentile))_ms", Stats.millis(afterJournal, percentile),
                        unit: "ms (ok -> publish: forward, worker queue, decide, commit)")
                }
                report.add("starved", Double(outcome.starved), unit: "triggers sent with no standby ready")
                report.add("triggers", Double(outcome.latencies.count), unit: "answered")
                report.add("missed", Double(outcome.missed), unit: "no publish within 2 s")
                report.add(
                    "stale_target", Double(outcome.staleTarget),
                    unit: "target left online before the trigger was decided (not timed)")
                report.add("background_per_s", backgroundRate, unit: "msgs/s accepted")
                // At a paced rate the batches are small: what each message costs here, against the
                // throughput mode's figure, and how busy the two cores were, is what the tail queues on.
                report.add(
                    "cpu_us_per_msg", cpu.total * 1e6 / Double(sentDuring),
                    unit: "CPU µs/msg (listener + workers + Redis, during the triggers)")
                report.add(
                    "cpu_us_per_msg_listener", cpu.listener * 1e6 / Double(sentDuring), unit: "CPU µs/msg")
                report.add("cpu_us_per_msg_workers", cpu.workers * 1e6 / Double(sentDuring), unit: "CPU µs/msg")
                // Each switch is a wakeup to come: times the anchor's CPU per wakeup, the share of
                // the fleet's CPU the hops between threads take at this rate (an estimate).
                let switchesPerMessage = Double(switches.count) / Double(sentDuring)
                report.add(
                    "switches_per_msg", switchesPerMessage,
                    unit: "context switches/msg (listener + workers + Redis, every thread)")
                report.add(
                    "hop_cpu_share", switchesPerMessage * wakeup.cpuMicros / (cpu.total * 1e6 / Double(sentDuring)),
                    unit: "switches/msg x wakeup_cpu_us / cpu_us_per_msg (estimate)")
                report.add(
                    "machine_busy", busy ?? .nan,
                    unit: "fraction of both cores busy (/proc/stat; the bench's own load included)")
                report.add("background_answer_p50_ms", Stats.millis(answers, 50), unit: "ms (send -> 202, journaled)")
                report.add("background_answer_p99_ms", Stats.millis(answers, 99), unit: "ms")
                report.add("background_answer_p999_ms", Stats.millis(answers, 99.9), unit: "ms")
                report.add("redis_publish_p99_ms", Stats.millis(floor, 99), unit: "ms (PUBLISH->subscriber floor)")
                report.add("p99_to_redis_publish", Stats.millis(histogram, 99) / Stats.millis(floor, 99), unit: "ratio")
                report.add(
                    "fdatasync_p50_ms", Stats.millis(sync, 50), unit: "ms (64-byte append + fdatasync, journal dir)")
                report.add("fdatasync_p99_ms", Stats.millis(sync, 99), unit: "ms")
                report.add("fdatasync_cpu_us", syncCPU, unit: "CPU µs per 64-byte append + fdatasync")
                report.add(
                    "wakeup_us", wakeup.wallMicros, unit: "µs per thread wakeup (pipe ping-pong, idle machine)")
                report.add("wakeup_cpu_us", wakeup.cpuMicros, unit: "CPU µs per thread wakeup")
                for percentile in [50.0, 99.0, 99.9] {
                    report.add(
                        "loaded_wakeup_p\(Self.label(percentile))_ms", Stats.millis(wakeupsUnderLoad, percentile),
                        unit: "ms per thread wakeup while the triggers ran (pipe, one per ms)")
                    report.add(
                        "path_hops_p\(Self.label(percentile))_ms", Stats.millis(hopsUnderLoad, percentile),
                        unit: "ms, \(LoadedWakeups.triggerPathHops) such wakeups in a row (the trigger's hops alone)")
                }
                report.add("p99_to_fdatasync_p99", Stats.millis(histogram, 99) / Stats.millis(sync, 99), unit: "ratio")
                // Every message of the trigger's app, background included, as coarse as the buckets.
                for (family, name) in PathStages.stages {
                    for percentile in [50.0, 99.0] {
                        report.add(
                            "stage_\(name)_p\(Int(percentile))_ms",
                            stages.upperBoundMillis(family, percentile) ?? .nan,
                            unit: "ms, bucket upper bound (/metrics, app \(trigger))")
                    }
                }
                report.add(
                    "p99_to_envoy_10s", Stats.millis(histogram, 99) / 10_000, unit: "ratio to Envoy outlier interval")
                print("run \(run) done")
            }
        }
        report.printTable()
        print(
            "all runs merged: \(merged.totalCount) triggers, p50 \(Stats.millis(merged, 50)) ms, p99 \(Stats.millis(merged, 99)) ms, "
                + "p99.9 \(Stats.millis(merged, 99.9)) ms, max \(Double(merged.max) / 1000) ms; "
                + "with a standby ready: \(mergedReady.totalCount) triggers, p50 \(Stats.millis(mergedReady, 50)) ms, "
                + "p99 \(Stats.millis(mergedReady, 99)) ms, p99.9 \(Stats.millis(mergedReady, 99.9)) ms; "
                + "send -> journaled p50 \(Stats.millis(mergedJournaled, 50)) ms, p99 \(Stats.millis(mergedJournaled, 99)) ms; "
                + "journaled -> publish p50 \(Stats.millis(mergedAfterJournal, 50)) ms, "
                + "p99 \(Stats.millis(mergedAfterJournal, 99)) ms; "
                + "one thread wakeup under this load p50 \(Stats.millis(mergedWakeups, 50)) ms, "
                + "p99 \(Stats.millis(mergedWakeups, 99)) ms, p99.9 \(Stats.millis(mergedWakeups, 99.9)) ms; "
                + "\(LoadedWakeups.triggerPathHops) of them in a row p50 \(Stats.millis(mergedHops, 50)) ms, "
                + "p99 \(Stats.millis(mergedHops, 99)) ms")
        report.printResult(
            [
                ("p50_ms", "trigger_p50_ms"), ("p99_ms", "trigger_p99_ms"), ("p999_ms", "trigger_p999_ms"),
                ("missed", "missed"), ("stale_target", "stale_target"), ("background_per_s", "background_per_s"),
                ("ready_p50_ms", "ready_p50_ms"),
                ("ready_p99_ms", "ready_p99_ms"), ("starved", "starved"),
                ("baseline_p99_ms", "redis_publish_p99_ms"), ("ratio", "p99_to_redis_publish"),
                ("ratio_envoy_10s", "p99_to_envoy_10s"), ("fdatasync_p50_ms", "fdatasync_p50_ms"),
                ("fdatasync_p99_ms", "fdatasync_p99_ms"), ("ratio_fdatasync", "p99_to_fdatasync_p99"),
                ("fdatasync_cpu_us", "fdatasync_cpu_us"), ("wakeup_us", "wakeup_us"),
                ("wakeup_cpu_us", "wakeup_cpu_us"), ("cpu_us_per_msg", "cpu_us_per_msg"),
                ("machine_busy", "machine_busy"), ("switches_per_msg", "switches_per_msg"),
                ("hop_cpu_share", "hop_cpu_share"),
                ("journaled_p50_ms", "trigger_journaled_p50_ms"),
                ("after_journal_p50_ms", "trigger_after_journal_p50_ms"),
                ("loaded_wakeup_p50_ms", "loaded_wakeup_p50_ms"), ("loaded_wakeup_p99_ms", "loaded_wakeup_p99_ms"),
                ("loaded_wakeup_p999_ms", "loaded_wakeup_p999_ms"), ("path_hops_p50_ms", "path_hops_p50_ms"),
                ("path_hops_p99_ms", "path_hops_p99_ms"),
            ],
            extra: [
                ("runs", String(common.runs)), ("rate", String(Int(rate))),
                ("merged_p99_ms", Report.format(Stats.millis(merged, 99))),
                ("merged_p999_ms", Report.format(Stats.millis(merged, 99.9))),
                ("ready_merged_p99_ms", Report.format(Stats.millis(mergedReady, 99))),
                ("ready_merged_p999_ms", Report.format(Stats.millis(mergedReady, 99.9))),
                ("loaded_wakeup_merged_p99_ms", Report.format(Stats.millis(mergedWakeups, 99))),
                ("path_hops_merged_p99_ms", Report.format(Stats.millis(mergedHops, 99))),
            ])
    }

    /// `50`, `99`, `999` for 50, 99 and 99.9, as the other percentile rows are named.
    private static func label(_ percentile: Double) -> String {
        percentile == percentile.rounded() ? String(Int(percentile)) : String(Int(percentile * 10))
    }
}

/// The subscriber and the trigger sender of the latency mode.
final class TriggerProbe: @unchecked Sendable {
    private let environment: BenchEnvironment
    private let app: String
    private let subscriber: RespConnection
    private let trigger: LineSocket
    private let condition = NSCondition()
    /// Publications as (receive time, online ids); guarded by `condition`.
    private var publications: [(at: UInt64, online: Set<String>)] = []
    /// When each trigger's `{"ok":"<id>"}` came back (journaled); guarded by `condition`.
    private var journaledAt: [String: UInt64] = [:]
    private var stopping = false
    private var threads: [JoinableThread] = []

    init(environment: BenchEnvironment, app: String) throws {
        self.environment = environment
        self.app = app
        subscriber = try RespConnection(port: environment.redisPort)
        try subscriber.send(["SUBSCRIBE", "mimic:\(app):online"])
        _ = try subscriber.read()
        subscriber.setReceiveTimeout(0.2)
        trigger = try LineSocket(loopbackPort: environment.tcpPort)
        trigger.setReceiveTimeout(0.2)
        try trigger.write("{\"auth\":\"\(BenchEnvironment.token)\"}\n")
        threads.append(
            JoinableThread("bench-subscriber") { [self] in
                while !isStopping {
                    guard let reply = try? subscriber.read() else { continue }
                    let now = monotonicNanos()
                    guard let parts = reply.array, parts.count == 3, parts[0].string == "message",
                        let payload = parts[2].string,
                        let view = try? JSONDecoder().decode(OnlineView.self, from: Data(payload.utf8))
                    else { continue }
                    let ids = Set(view.online.map(\.id))
                    condition.lock()
                    publications.append((now, ids))
                    condition.broadcast()
                    condition.unlock()
                }
            })
        // The trigger connection's answers are drained so its window never fills, and their times
        // split each trigger's wait into the listener's part (journaled) and the rest.
        threads.append(
            JoinableThread("bench-trigger-answers") { [self] in
                while !isStopping {
                    guard let line = try? trigger.readLine() else { continue }
                    let now = monotonicNanos()
                    guard let answer = try? JSONDecoder().decode([String: String].self, from: Data(line.utf8)),
                        let id = answer["ok"]
                    else { continue }
                    condition.lock()
                    journaledAt[id] = now
                    condition.unlock()
                }
            })
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    struct Outcome {
        var latencies: [UInt64] = []
        /// The triggers sent while a standby was ready: the flagged executor can be replaced at
        /// once, so these time the message's path alone.
        var ready: [UInt64] = []
        /// Per timed trigger: sent to its journaled answer (the listener's part), and that answer
        /// to the publication (forwarding, the worker's queue, decision and commit, the publish).
        var journaled: [UInt64] = []
        var afterJournal: [UInt64] = []
        /// Sent while no standby was ready: with online at min_online the executor stays (flagged)
        /// until a create or clean hook has produced one, so these also time the hooks.
        var starved = 0
        var missed = 0
        /// The target had left the online set before the worker decided the trigger (a swap or a
        /// rotation between the bench's read of the online set and the alert): nothing of the
        /// trigger's is published, so its wait times the next unrelated publication. Not timed.
        var staleTarget = 0
    }

    func run(seconds: Double, intervalMs: Double, run: Int) throws -> Outcome {
        var outcome = Outcome()
        let started = monotonicNanos()
        var index = 0
        while Double(monotonicNanos() - started) / 1e9 < seconds {
            let due = started + UInt64(Double(index) * intervalMs * 1e6)
            let now = monotonicNanos()
            if due > now { usleep(useconds_t((due - now) / 1000)) }
            index += 1
            // The committed online set, read just before sending: a view kept from an earlier
            // publication goes stale as swaps and rotations move executors, and an alert on an
            // executor already out of online publishes nothing (the first pass timed those waits
            // as a ~80 ms tail).
            guard let target = try environment.onlineExecutors(app).randomElement() else {
                outcome.missed += 1
                continue
            }
            let line =
                #"{"id":"trig-\#(run)-\#(index)","app":"\#(app)","source":"waf","type":"alert","body":{"executor":"\#(target)","rule":"942100","severity":"critical","url":"/login","client_ip":"203.0.113.9"}}"#
                + "\n"
            let bytes = Array(line.utf8)
            let standbyReady = !(try environment.executors(app, in: "standby")).isEmpty
            if !standbyReady { outcome.starved += 1 }
            let sentUnixMs = Int64(Date().timeIntervalSince1970 * 1000)
            let sent = monotonicNanos()
            try trigger.write(bytes)
            if let publication = waitForPublication(after: sent, without: target, timeout: 2) {
                guard try movedOutOfOnline(cause: "trig-\(run)-\(index)", since: sentUnixMs) else {
                    outcome.staleTarget += 1
                    continue
                }
                outcome.latencies.append(publication.at - sent)
                if standbyReady { outcome.ready.append(publication.at - sent) }
                if let answered = takeJournaledAt("trig-\(run)-\(index)"), answered >= sent {
                    outcome.journaled.append(answered - sent)
                    outcome.afterJournal.append(publication.at > answered ? publication.at - answered : 0)
                }
            } else {
                outcome.missed += 1
            }
        }
        return outcome
    }

    /// Whether the trigger's decision took its target out of online (an event `transition` from
    /// `online` caused by it), read from the app's events stream: only the entries Redis added
    /// since the trigger was sent (a second of margin), whose ids are Redis's clock in ms. Reading
    /// the last 2,000 cost Redis 2.6 ms per trigger, which the fleet's CPU per message counted.
    private func movedOutOfOnline(cause: String, since sentUnixMs: Int64) throws -> Bool {
        let connection = try RespConnection(port: environment.redisPort(of: app), db: environment.db(of: app))
        let events =
            try connection.command([
                "XREVRANGE", "mimic:\(app):events", "+", "\(max(0, sentUnixMs - 1000))-0", "COUNT", "2000",
            ]).array ?? []
        for event in events {
            guard let parts = event.array, parts.count == 2, let flat = parts[1].array?.compactMap(\.string) else {
                continue
            }
            var fields: [String: String] = [:]
            for at in stride(from: 0, to: flat.count - 1, by: 2) { fields[flat[at]] = flat[at + 1] }
            if fields["cause"] == cause, fields["kind"] == "transition", fields["from"] == "online" { return true }
        }
        return false
    }

    private func takeJournaledAt(_ id: String) -> UInt64? {
        condition.lock()
        defer { condition.unlock() }
        return journaledAt.removeValue(forKey: id)
    }

    private func waitForPublication(after sent: UInt64, without target: String, timeout: Double)
        -> (at: UInt64, online: Set<String>)?
    {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let found = publications.first(where: { $0.at >= sent && !$0.online.contains(target) }) {
                publications.removeAll { $0.at <= found.at }
                return found
            }
            if !condition.wait(until: deadline) { return nil }
        }
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.unlock()
        for thread in threads { _ = thread.join(timeout: 2) }
    }
}
