import Foundation
import Logging
import NIOPosix
import Shared
import Testing

@testable import AppWorker
@testable import Scheduling

/// Issue 19 item 5 at the worker's I/O edge: the collector's manifest (status, hashes, timeout),
/// the actuator holding an executor's clean until its capture is over, the log demultiplexer of the
/// docker driver and the event a capture leaves.
@Suite struct EvidenceTests {
    actor CallLog {
        private(set) var calls: [String] = []
        func add(_ call: String) { calls.append(call) }
    }

    /// A driver whose `inspect` writes `files` once `gate` yields (never, if nobody yields).
    struct GatedDriver: Driver {
        let log = CallLog()
        let gate: AsyncStream<Void>
        var files: [String: String] = ["changes.json": #"[{"Path":"/tmp/x","Kind":1}]"#]
        var problems: [String] = []
        var failure: String?

        var actionTimeout: Duration { .seconds(5) }
        func create(_ target: DriverTarget) async throws -> String {
            await log.add("create \(target.executor)")
            return "127.0.0.1:9000"
        }
        func clean(_ target: DriverTarget) async throws -> String? {
            await log.add("clean \(target.executor)")
            return nil
        }
        func remove(_ target: DriverTarget) async throws { await log.add("remove \(target.executor)") }
        func list() async throws -> [String] { [] }
        func inspect(_ target: DriverTarget, into directory: String, export: Bool) async throws -> [String] {
            await log.add("inspect started \(target.executor)")
            for await _ in gate { break }
            // Cancelled by the collector's deadline (the gate did not open): stop, as the real
            // drivers' HTTP calls and hooks do, rather than write files after the capture ended.
            try Task.checkCancellation()
            for (name, text) in files {
                try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
            }
            await log.add("inspect finished \(target.executor)")
            if let failure { throw DriverError(failure) }
            return problems
        }
    }

    /// A driver without `inspect`: the protocol's default.
    struct PlainDriver: Driver {
        var actionTimeout: Duration { .seconds(1) }
        func create(_ target: DriverTarget) async throws -> String { "127.0.0.1:1" }
        func clean(_ target: DriverTarget) async throws -> String? { nil }
        func remove(_ target: DriverTarget) async throws {}
        func list() async throws -> [String] { [] }
    }

    final class Scratch: Sendable {
        let root = NSTemporaryDirectory() + "mimic-evidence-\(UUID().uuidString.prefix(8))"
        deinit { try? FileManager.default.removeItem(atPath: root) }

        func collector(timeout: Duration = .seconds(10)) -> EvidenceCollector {
            EvidenceCollector(
                app: "shop", root: root, settings: ForensicsSettings(timeout: timeout), driverKinds: ["h1": "docker"])
        }
    }

    static let request = CaptureRequest(
        executor: "e3", variant: "v1", host: "h1", dirtySince: 1_000, cause: "dissent-3", reason: "3 dissents in 60s")

    static func openGate() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        continuation.yield(())
        return stream
    }

    static func waitFor(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    @Test func aCaptureWritesAManifestWithTheHashOfEveryFile() async throws {
        let scratch = Scratch()
        let collector = scratch.collector()
        var driver = GatedDriver(gate: Self.openGate())
        driver.files["logs.txt"] = "planted\n"
        #expect(!collector.isCaptured(executor: "e3", dirtySince: 1_000))
        let outcome = await collector.capture(Self.request, driver: driver)
        let manifest = try #require(outcome.manifest, "\(outcome.error ?? "")")
        #expect(outcome.directory == scratch.root + "/shop/e3/1000")
        #expect(outcome.manifestPath == outcome.directory + "/manifest.json")
        #expect(manifest.status == .complete && manifest.problems.isEmpty)
        #expect(manifest.cause == "dissent-3" && manifest.reason == "3 dissents in 60s" && manifest.driver == "docker")
        #expect(manifest.dirtySince == 1_000 && manifest.started <= manifest.finished)
        #expect(
            manifest.artifacts.first { $0.name == "logs.txt" }
                == .init(
                    name: "logs.txt", bytes: 8,
                    sha256: "60f97c7b5bf55c5f186c5d1c79c8e3b6929c83bf2766434df9f1e1b9069db73a"))
        #expect(manifest.artifacts.map(\.name) == ["changes.json", "logs.txt"], "sorted, the manifest not among them")
        #expect(
            try ForensicsLayout(root: scratch.root).readManifest(app: "shop", executor: "e3", dirtySince: 1_000)
                == manifest)
        #expect(collector.isCaptured(executor: "e3", dirtySince: 1_000))
        #expect(collector.latestManifests(of: ["e3", "e4"]) == ["e3": outcome.manifestPath])
    }

    @Test func partsThatFailMakeItPartialAndNothingKeptMakesItFailed() async throws {
        let scratch = Scratch()
        var partial = GatedDriver(gate: Self.openGate())
        partial.problems = ["top of e3 failed with HTTP 409: container is not running"]
        let first = await scratch.collector().capture(Self.request, driver: partial)
        #expect(first.manifest?.status == .partial)
        #expect(first.manifest?.problems == partial.problems)

        var failing = GatedDriver(gate: Self.openGate())
        failing.files = [:]
        failing.failure = "container mimic-shop-e3 of e3 is gone"
        var request = Self.request
        request.dirtySince = 2_000
        let second = await scratch.collector().capture(request, driver: failing)
        #expect(second.manifest?.status == .failed)
        #expect(second.manifest?.problems == ["container mimic-shop-e3 of e3 is gone"])

        request.dirtySince = 3_000
        let unsupported = await scratch.collector().capture(request, driver: PlainDriver())
        #expect(unsupported.manifest?.status == .unsupported)
        #expect(unsupported.manifest?.artifacts == [])
    }

    @Test func aCaptureThatHangsEndsAtTheTimeoutAndSaysWhichKey() async throws {
        let scratch = Scratch()
        let (never, continuation) = AsyncStream.makeStream(of: Void.self)
        defer { continuation.finish() }
        let started = ContinuousClock.now
        let outcome = await scratch.collector(timeout: .milliseconds(300))
            .capture(Self.request, driver: GatedDriver(gate: never))
        // The gate never opens: only the 300 ms timeout ends this. The bound is loose because the
        // main batch shares 2 cores with other suites (10 s was seen there); "never" is the failure.
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(outcome.manifest?.status == .failed)
        #expect(outcome.manifest?.problems.first?.contains("forensics.timeout") == true, "\(outcome)")
    }

    @Test func anUnwritableDirectoryIsAnOutcomeWithoutManifest() async throws {
        let file = NSTemporaryDirectory() + "mimic-evidence-file-\(UUID().uuidString.prefix(8))"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        defer { unlink(file) }
        let collector = EvidenceCollector(
            app: "shop", root: file, settings: ForensicsSettings(), driverKinds: [:])
        let outcome = await collector.capture(Self.request, driver: PlainDriver())
        #expect(outcome.manifest == nil)
        #expect(outcome.error?.contains("forensics.dir") == true, "\(outcome)")
    }

    @Test func theActuatorHoldsAnExecutorsCleanUntilItsCaptureIsOver() async throws {
        let scratch = Scratch()
        let (gate, release) = AsyncStream.makeStream(of: Void.self)
        let driver = GatedDriver(gate: gate)
        let inbox = WorkerInbox(timers: MultiThreadedEventLoopGroup.singleton.next())
        let actuator = Actuator(
            app: "shop", drivers: ["h1": driver], maxParallel: 1, inbox: inbox, logger: Logger(label: "test"),
            evidence: scratch.collector())
        await actuator.capture([Self.request])
        await actuator.submit([
            DriverAction(kind: .clean, executor: "e3", variant: "v1", host: "h1"),
            DriverAction(kind: .create, executor: "e4", variant: "v1", host: "h1"),
        ])
        // The other executor's action goes ahead, even with one slot: the held clean takes none.
        #expect(
            await Self.waitFor {
                let calls = await driver.log.calls
                return calls.contains("create e4") && calls.contains("inspect started e3")
            })
        try await Task.sleep(for: .milliseconds(200))
        #expect(!(await driver.log.calls.contains("clean e3")))

        release.yield(())
        #expect(await Self.waitFor { await driver.log.calls.contains("clean e3") })
        let calls = await driver.log.calls
        let finished = try #require(calls.firstIndex(of: "inspect finished e3"))
        #expect(finished < (calls.firstIndex(of: "clean e3") ?? 0), "\(calls)")

        var forensics: [CaptureOutcome] = []
        var results = 0
        for await input in inbox.stream {
            switch input {
            case .forensics(let outcome): forensics.append(outcome)
            case .schedulerEvent: results += 1
            default: break
            }
            if forensics.count == 1 && results == 2 { break }
        }
        #expect(forensics.first?.manifest?.status == .complete)
    }

    @Test func theDockerLogStreamIsDemultiplexedAcrossChunks() {
        func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
            let payload = Array(text.utf8)
            let size = UInt32(payload.count)
            return [
                stream, 0, 0, 0, UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF),
                UInt8(size & 0xFF),
            ]
                + payload
        }
        let stream = frame(1, "out line\n") + frame(2, "err line\n") + frame(1, "") + frame(1, "last\n")
        for cut in [1, 3, 8, 9, 12, stream.count - 1] {
            let demuxer = LogStreamDemuxer()
            let text = demuxer.feed(Array(stream[..<cut])) + demuxer.feed(Array(stream[cut...])) + demuxer.finish()
            #expect(String(decoding: text, as: UTF8.self) == "out line\nerr line\nlast\n", "cut at \(cut)")
        }
        let raw = LogStreamDemuxer()
        let tty = Array("plain tty output\n".utf8)
        #expect(raw.feed(Array(tty[..<4])) + raw.feed(Array(tty[4...])) + raw.finish() == tty)
        let short = LogStreamDemuxer()
        #expect(short.feed(Array("hi".utf8)) + short.finish() == Array("hi".utf8))
    }

    @Test func aCaptureLeavesAnEventThatLeadsToTheManifest() throws {
        let manifest = ForensicsManifest(
            app: "shop", executor: "e3", variant: "v1", host: "h1", driver: "docker", dirtySince: 1_000,
            cause: "dissent-3", reason: "3 dissents", started: 1_001, finished: 1_002, status: .complete,
            artifacts: [.init(name: "changes.json", bytes: 10, sha256: "00")])
        let kept = CaptureOutcome(
            request: Self.request, directory: "/f/shop/e3/1000", manifestPath: "/f/shop/e3/1000/manifest.json",
            manifest: manifest)
        var batch = CommitBatch(keys: RedisKeys(app: "shop"))
        batch.recordForensics(kept, now: 5_000)
        #expect(
            batch.events == [
                [
                    "kind", "forensics", "executor", "e3", "status", "complete", "dir", "/f/shop/e3/1000",
                    "manifest", "/f/shop/e3/1000/manifest.json", "dirty_since", "1000",
                    "reason", "evidence of e3 kept: changes.json (10 bytes)", "cause", "dissent-3", "time", "5000",
                ]
            ])
        #expect(!batch.isEmpty)

        let lost = CaptureOutcome(
            request: Self.request, directory: "/f/shop/e3/1000", manifestPath: "/f/shop/e3/1000/manifest.json",
            error: "cannot create /f/shop/e3/1000: permission denied; check forensics.dir and its permissions")
        var failed = CommitBatch(keys: RedisKeys(app: "shop"))
        failed.recordForensics(lost, now: 5_000)
        let fields = try #require(failed.events.first)
        #expect(fields[5] == "failed" && fields[9] == "", "no manifest to point at: \(fields)")
        #expect(fields[13].contains("check forensics.dir"))
    }

    @Test func aRestartedWorkerFindsTheCauseOfADirtyExecutorInTheRecentEvents() {
        let events = [
            ["kind", "transition", "executor", "e3", "from", "standby", "to", "online", "cause", "m-1"],
            [
                "kind", "transition", "executor", "e3", "from", "online", "to", "dirty", "reason", "3 dissents",
                "cause", "m-4",
            ],
            ["kind", "transition", "executor", "e4", "from", "online", "to", "dirty", "cause", "m-5"],
            ["kind", "note", "executor", "e3", "reason", "x", "cause", "m-6"],
        ]
        #expect(SchedulerLoop.dirtyTransition(of: "e3", in: events)?["cause"] == "m-4")
        #expect(SchedulerLoop.dirtyTransition(of: "e3", in: events)?["reason"] == "3 dissents")
        #expect(SchedulerLoop.dirtyTransition(of: "e9", in: events) == nil)
    }
}
