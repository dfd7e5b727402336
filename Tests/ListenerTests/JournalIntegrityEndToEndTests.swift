import Foundation
import Shared
import TestSupport
import Testing

/// Journal integrity with the release `mimic-listener` (DESIGN section 10): one listener per
/// journal_dir, a missing meta.json stops the start with a clear error, `--recover-journal`
/// rebuilds it, and a failed journal write (a full disk) is answered 503 and recovers by itself.
@Suite(.serialized, .startsProcesses) struct JournalIntegrityEndToEndTests {
    @Test func aSecondListenerOnTheSameJournalDirIsRefused() throws {
        let first = try JournalListenerFixture(apps: ["shop"])
        try first.start()
        // Its own ports, the first one's journal_dir.
        let second = try JournalListenerFixture(apps: ["shop"], journalDir: first.journalDir)
        let refused = try second.run(arguments: [])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("journal_dir \(first.journalDir) is in use by another mimic-listener"))
        #expect(refused.stderr.contains("(pid \(first.pid))"), "\(refused.stderr)")
        // The first one is untouched and still takes messages.
        #expect(try first.post("shop", ids: ["x"]).status == 202)
        first.terminate()
        try second.start()
        #expect(try second.post("shop", ids: ["y"]).status == 202)
    }

    @Test func missingMetaStopsTheStartAndRecoverJournalRebuildsIt() throws {
        let fixture = try JournalListenerFixture(apps: ["shop"])
        let worker = try ScriptedWorker(path: fixture.socketPath("shop"))
        defer { worker.stop() }
        try fixture.start()
        #expect(try fixture.post("shop", ids: (1...5).map { "m-\($0)" }).status == 202)
        #expect(try eventually(timeout: 15) { try fixture.ackedSeq("shop") == 5 })
        let epoch = try fixture.epoch("shop")
        fixture.terminate()

        let meta = fixture.journalDir + "/shop/meta.json"
        try FileManager.default.removeItem(atPath: meta)
        let refused = try fixture.run(arguments: [])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("\(meta) is missing but the journal has 1 segment file(s)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--recover-journal shop --epoch"))
        #expect(!FileManager.default.fileExists(atPath: meta))

        let badEpoch = try fixture.run(arguments: ["--recover-journal", "shop", "--epoch", "xyz"])
        #expect(badEpoch.status == 1 && badEpoch.stderr.contains("--epoch: expected 32 lowercase hex digits"))
        let recovered = try fixture.run(arguments: ["--recover-journal", "shop", "--epoch", epoch])
        #expect(recovered.status == 0, "\(recovered.stderr)")
        #expect(recovered.stdout.contains("epoch \(epoch), acked 0"))
        #expect(recovered.stdout.contains("retained records: seqs 1...5"))

        // The worker says it applied all five: nothing is applied again, the ack catches up.
        worker.script { $0.hello = .position(epoch: epoch, seq: 5) }
        let before = worker.snapshot.frames.count
        try fixture.start()
        #expect(try eventually(timeout: 15) { try fixture.ackedSeq("shop") == 5 }, "\(fixture.log())")
        #expect(try fixture.epoch("shop") == epoch)
        #expect(try fixture.post("shop", ids: ["m-6"]).status == 202)
        #expect(eventually(timeout: 15) { worker.snapshot.frames.count == before + 1 })
        #expect(worker.snapshot.frames.last?.seq == 6)
        #expect(worker.snapshot.frames.last?.id == "m-6")
    }

    /// Mounts a tmpfs of `size` on `path` (the test runs as root); nil when this machine cannot.
    static func mountTmpfs(_ path: String, size: String) throws -> Bool {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let result = try ChildProcess.runCapturing(
            executable: "/bin/mount", arguments: ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
        return result.status == 0
    }

    static func unmount(_ path: String) {
        _ = try? ChildProcess.runCapturing(executable: "/bin/umount", arguments: [path])
        _ = try? ChildProcess.runCapturing(executable: "/bin/umount", arguments: ["-l", path])
    }

    /// Fills the file system of `directory` to the last byte with `filler`.
    static func fill(_ directory: String) throws {
        _ = try ChildProcess.runCapturing(
            executable: "/bin/dd", arguments: ["if=/dev/zero", "of=\(directory)/filler", "bs=4096"])
    }

    /// An envelope padded with JSON whitespace to about `bytes` (the listener keeps the bytes).
    static func padded(_ app: String, id: String, bytes: Int) -> String {
        "{\"id\":\"\(id)\",\(String(repeating: " ", count: bytes))\"app\":\"\(app)\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}"
    }

    /// Whether this machine lets the test mount a tmpfs (root with CAP_SYS_ADMIN): probed once
    /// with mount(2) itself, so the disk-full tests run wherever they can and say why when not.
    static let canMountTmpfs: Bool = {
        var probe = "/tmp/mimic-tmpfs-probe-XXXXXX".utf8CString
        let made = probe.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { return false }
        let path = probe.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { rmdir(path) }
        guard mount("tmpfs", path, "tmpfs", 0, "size=64k") == 0 else { return false }
        umount(path)
        return true
    }()

    @Test(.enabled(if: canMountTmpfs, "mounts a tmpfs to fill a disk: needs root with CAP_SYS_ADMIN"))
    func aFullDiskIsAnswered503AndTheAppRecoversByItself() throws {
        let fixture = try JournalListenerFixture(apps: ["shop"])
        let appJournal = fixture.journalDir + "/shop"
        try #require(try Self.mountTmpfs(appJournal, size: "2m"), "cannot mount a tmpfs here")
        defer { Self.unmount(appJournal) }
        let worker = try ScriptedWorker(path: fixture.socketPath("shop"))
        defer { worker.stop() }
        worker.script { $0.hello = .position(epoch: nil, seq: 0) }
        try fixture.start()
        defer { fixture.terminate() }

        var accepted: [String] = []
        func post(_ ids: [String]) throws -> JournalListenerFixture.Reply {
            let body = "[" + ids.map { Self.padded("shop", id: $0, bytes: 1500) }.joined(separator: ",") + "]"
            let reply = try fixture.http("POST", "/v1/events", body: body)
            if reply.status == 202 { accepted += ids }
            return reply
        }
        #expect(try post((1...5).map { "a-\($0)" }).status == 202)

        try Self.fill(appJournal)
        // Several pages' worth at once: cannot fit in what is left of the segment's last page.
        let full = try post((1...4).map { "b-\($0)" })
        #expect(full.status == 503, "\(full.body)")
        #expect((full.json["error"] as? String)?.contains("No space left on device") == true, "\(full.body)")
        // TCP says the same per line, with code 503.
        let tcp = try LineSocket(tcpPort: fixture.tcpPort)
        try tcp.sendLines([
            "{\"auth\":\"\(JournalListenerFixture.token)\"}", Self.padded("shop", id: "t-1", bytes: 3000),
        ])
        let answer = tcp.readJSON()
        #expect(answer?["code"] as? Int == 503, "\(String(describing: answer))")
        #expect(answer?["id"] as? String == "t-1")
        // Still full a second later: still 503, nothing half-written.
        Thread.sleep(forTimeInterval: 1.2)
        #expect(try post((1...4).map { "b-\($0)" }).status == 503)

        try FileManager.default.removeItem(atPath: appJournal + "/filler")
        // Within the retry interval the journal takes messages again; the senders' retries go in.
        #expect(try eventually(timeout: 10, interval: 0.3) { try post((1...4).map { "b-\($0)" }).status == 202 })
        #expect(try post((1...3).map { "c-\($0)" }).status == 202)
        #expect(try eventually(timeout: 15) { try fixture.ackedSeq("shop") == accepted.count }, "\(fixture.log())")

        // Every accepted message reached the worker once, in order, seqs without a hole.
        let frames = worker.snapshot.frames
        #expect(frames.map(\.id) == accepted)
        #expect(frames.map(\.seq) == (1...accepted.count).map { UInt64($0) })
        #expect(worker.snapshot.gaps.isEmpty)

        // And a restart finds the same journal: nothing of the failed writes on disk.
        let epoch = try fixture.epoch("shop")
        worker.script { $0.hello = .position(epoch: epoch, seq: UInt64(accepted.count)) }
        fixture.terminate()
        try fixture.start()
        #expect(try fixture.post("shop", ids: ["d-1"]).status == 202)
        #expect(eventually(timeout: 15) { worker.snapshot.frames.last?.id == "d-1" })
        #expect(worker.snapshot.frames.last?.seq == UInt64(accepted.count + 1))
    }

    @Test(.enabled(if: canMountTmpfs, "mounts a tmpfs to fill a disk: needs root with CAP_SYS_ADMIN"))
    func aMultiAppRequestThatOneJournalCannotTakeLeavesNothingInTheOthers() throws {
        let fixture = try JournalListenerFixture(apps: ["shop", "blog"])
        // Only blog's journal is on the small file system.
        let blogJournal = fixture.journalDir + "/blog"
        try #require(try Self.mountTmpfs(blogJournal, size: "2m"), "cannot mount a tmpfs here")
        defer { Self.unmount(blogJournal) }
        let shop = try ScriptedWorker(path: fixture.socketPath("shop"))
        let blog = try ScriptedWorker(path: fixture.socketPath("blog"))
        defer {
            shop.stop()
            blog.stop()
        }
        shop.script { $0.hello = .position(epoch: nil, seq: 0) }
        blog.script { $0.hello = .position(epoch: nil, seq: 0) }
        try fixture.start()
        defer { fixture.terminate() }

        func both(_ tag: String) -> String {
            "["
                + [Self.padded("shop", id: "\(tag)-s1", bytes: 10), Self.padded("shop", id: "\(tag)-s2", bytes: 10)]
                .joined(separator: ",") + ","
                + (1...4).map { Self.padded("blog", id: "\(tag)-b\($0)", bytes: 1500) }.joined(separator: ",") + "]"
        }
        #expect(try fixture.http("POST", "/v1/events", body: both("one")).status == 202)
        try Self.fill(blogJournal)
        let refused = try fixture.http("POST", "/v1/events", body: both("two"))
        #expect(refused.status == 503, "\(refused.body)")
        // shop made its part durable, then voided it: seqs 3-4 reach its worker as one void gap.
        #expect(try fixture.post("shop", ids: ["after"]).status == 202)
        #expect(eventually(timeout: 15) { shop.snapshot.frames.last?.id == "after" }, "\(fixture.log())")
        #expect(shop.snapshot.gaps == [GapFrame(epoch: try fixture.epoch("shop"), from: 3, to: 4, void: true)])
        #expect(shop.snapshot.frames.map(\.id) == ["one-s1", "one-s2", "after"])
        #expect(shop.snapshot.frames.map(\.seq) == [1, 2, 5])

        // The sender retries once the disk has room: appended anew in both, effect once.
        try FileManager.default.removeItem(atPath: blogJournal + "/filler")
        #expect(
            try eventually(timeout: 10, interval: 0.3) {
                try fixture.http("POST", "/v1/events", body: both("two")).status == 202
            })
        #expect(eventually(timeout: 15) { shop.snapshot.frames.count == 5 && blog.snapshot.frames.count == 8 })
        #expect(shop.snapshot.frames.map(\.id) == ["one-s1", "one-s2", "after", "two-s1", "two-s2"])
        #expect(shop.snapshot.frames.map(\.seq) == [1, 2, 5, 6, 7])
        #expect(blog.snapshot.frames.map(\.id) == (1...4).map { "one-b\($0)" } + (1...4).map { "two-b\($0)" })
        #expect(blog.snapshot.frames.map(\.seq) == Array(1...8))
        #expect(blog.snapshot.gaps.isEmpty)
        #expect(try eventually(timeout: 10) { try fixture.ackedSeq("shop") == 7 && fixture.ackedSeq("blog") == 8 })

        // A restart does not forward the voided records as messages.
        let epoch = try fixture.epoch("shop")
        shop.script { $0.hello = .position(epoch: epoch, seq: 0) }
        let before = shop.snapshot.frames.count
        fixture.terminate()
        try fixture.start()
        #expect(eventually(timeout: 15) { shop.snapshot.frames.count == before + 5 }, "\(fixture.log())")
        #expect(shop.snapshot.frames.suffix(5).map(\.seq) == [1, 2, 5, 6, 7])
        #expect(shop.snapshot.gaps.last == GapFrame(epoch: epoch, from: 3, to: 4, void: true))
    }
}
