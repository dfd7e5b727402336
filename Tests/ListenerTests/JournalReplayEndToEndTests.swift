import Foundation
import Shared
import TestSupport
import Testing

@testable import Listener

/// The listener's side of the worker's hello (DESIGN section 10), against the release
/// `mimic-listener` and a scripted worker on the app's socket: a worker whose Redis lost writes
/// gets the acknowledged records again from the journal's retained segments; records no longer
/// retained come as one gap line; a worker that closes the link is greeted again.
@Suite(.serialized, .startsProcesses) struct JournalReplayEndToEndTests {
    @Test func helloBehindTheAckReplaysFromDiskAndAClosedLinkIsGreetedAgain() throws {
        let fixture = try JournalListenerFixture(apps: ["shop"])
        // First a worker of an older build: it answers hello with an error line.
        let worker = try ScriptedWorker(path: fixture.socketPath("shop"))
        defer { worker.stop() }
        try fixture.start()
        #expect(try fixture.post("shop", ids: (1...20).map { "m-\($0)" }).status == 202)
        #expect(try eventually(timeout: 15) { try fixture.ackedSeq("shop") == 20 }, "\(fixture.log())")
        let first = worker.snapshot.frames
        #expect(first.map(\.seq) == Array(1...20))
        #expect(first.map(\.id) == (1...20).map { "m-\($0)" })
        // Every frame carries the accept time, a plausible unix ms.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(first.allSatisfy { ($0.at ?? 0) > now - 600_000 && ($0.at ?? 0) <= now + 1_000 })
        #expect(eventually(timeout: 5) { fixture.metaAcked("shop") == 20 })

        // Redis lost the last 15 applied messages: the worker now stands at seq 5. It closes the
        // link on the next frame (a refused commit), so the listener reconnects and says hello.
        let epoch = try fixture.epoch("shop")
        worker.script {
            $0.hello = .position(epoch: epoch, seq: 5)
            $0.closeAfterFrames = 1
        }
        #expect(try fixture.post("shop", ids: ["m-21"]).status == 202)
        #expect(
            eventually(timeout: 15) { worker.snapshot.frames.last.map { $0.connection == 2 && $0.seq == 21 } ?? false },
            "\(fixture.log())")
        let state = worker.snapshot
        #expect(state.hellosAsked == 2)
        #expect(state.gaps.isEmpty)
        // After the close: exactly 6…21 again, in order, with their original accept times.
        let replayed = state.frames.filter { $0.connection == state.connections }
        #expect(replayed.map(\.seq) == Array(6...21))
        #expect(replayed.prefix(15).map(\.at) == first.suffix(15).map(\.at))
        #expect(state.unexpected.isEmpty, "\(state.unexpected)")
        #expect(try eventually(timeout: 10) { try fixture.ackedSeq("shop") == 21 })
    }

    @Test func helloBeforeTheOldestRetainedRecordGetsAGapLineThenFrames() throws {
        let fixture = try JournalListenerFixture(apps: ["shop"])
        // A journal whose records 1…100 are gone (older than journal_retain): segments from 101.
        let epoch = "00112233445566778899aabbccddeeff"
        let journal = fixture.journalDir + "/shop"
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        try "{\"epoch\":\"\(epoch)\",\"acked\":110,\"format\":2}".write(
            toFile: journal + "/meta.json", atomically: true, encoding: .utf8)
        var bytes: [UInt8] = []
        for seq in UInt64(101)...120 {
            JournalRecord(
                seq: seq, at: 1_795_948_383_000 + Int64(seq), key: "admin\u{1F}old-\(seq)",
                envelope: Array(JournalListenerFixture.envelope("shop", id: "old-\(seq)").utf8)
            ).encode(into: &bytes)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: journal + "/" + JournalSegment.fileName(firstSeq: 101)))

        let worker = try ScriptedWorker(path: fixture.socketPath("shop"))
        defer { worker.stop() }
        worker.script { $0.hello = .position(epoch: epoch, seq: 50) }
        try fixture.start()
        #expect(try eventually(timeout: 15) { try fixture.ackedSeq("shop") == 120 }, "\(fixture.log())")
        let state = worker.snapshot
        #expect(state.gaps == [GapFrame(epoch: epoch, from: 51, to: 100)])
        #expect(state.frames.map(\.seq) == Array(101...120))
        #expect(state.frames.first?.at == 1_795_948_383_101)
        let status = try fixture.status("shop")
        #expect((status["journal"] as? [String: Any])?["skipped"] as? Int == 50)
        let metrics = try fixture.http("GET", "/metrics").body
        #expect(metrics.contains("mimic_listener_journal_skipped_total{app=\"shop\"} 50"))
    }

    @Test func aWorkerThatDoesNotAnswerHelloIsLeftAndTriedAgain() throws {
        let fixture = try JournalListenerFixture(apps: ["shop"])
        let worker = try ScriptedWorker(path: fixture.socketPath("shop"))
        defer { worker.stop() }
        worker.script { $0.hello = .silent }
        try fixture.start()
        #expect(try fixture.post("shop", ids: ["a", "b"]).status == 202)
        // No frame while the hello is unanswered; after the timeout (5 s) a new connection.
        #expect(eventually(timeout: 20) { worker.snapshot.hellosAsked >= 2 }, "\(fixture.log())")
        #expect(worker.snapshot.frames.isEmpty)
        worker.script { $0.hello = .position(epoch: nil, seq: 0) }
        #expect(eventually(timeout: 20) { worker.snapshot.frames.map(\.seq) == [1, 2] }, "\(fixture.log())")
        #expect(try eventually(timeout: 10) { try fixture.ackedSeq("shop") == 2 })
    }
}
