import Foundation
import Shared
import TestSupport
import Testing

@testable import Listener

/// The worker log's rotation by size and the reader a follower uses across it, on real files fed
/// through a real pipe by the drain thread (issue 18 item 4).
@Suite struct WorkerLogFileTests {
    private func feed(_ log: WorkerLogFile, lines: [String]) throws {
        let writeEnd = try #require(WorkerStderrDrain.start(app: "test", log: log))
        for line in lines {
            let bytes = Array((line + "\n").utf8)
            #expect(bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) } == bytes.count)
        }
        close(writeEnd)
    }

    @Test func rotatesBySizeKeepingOnePreviousFileAndAFollowerReadsAcrossTheRotation() throws {
        let directory = try TempDirectory.make(prefix: "worker-log")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = WorkerLogFile.path(journalDir: directory.path, app: "shop")
        let log = WorkerLogFile(path: path, maxBytes: 1000)
        let first = (0..<20).map { String(format: "line %03d ", $0) + String(repeating: "x", count: 30) }
        try feed(log, lines: first)
        #expect(
            eventually(timeout: 5) {
                WorkerLogReader.read(app: "shop", path: path, at: .last(100)).lines.last == first.last
            })
        let mark = WorkerLogReader.read(app: "shop", path: path, at: .last(5))
        #expect(mark.lines == Array(first.suffix(5)))

        // Past 1000 bytes the file turns into .1 and a new one starts; never more than twice the limit.
        let second = (20..<30).map { String(format: "line %03d ", $0) + String(repeating: "y", count: 30) }
        try feed(log, lines: second)
        #expect(
            eventually(timeout: 5) {
                WorkerLogReader.read(app: "shop", path: path, at: .last(1)).lines == [second.last!]
            })
        let size = { (file: String) in ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? -1
        }
        #expect(size(path + ".1") > 0 && size(path + ".1") <= 1000)
        #expect(size(path) > 0 && size(path) <= 1000)

        // A follower that stood at `mark` reads the rest of the rotated file, then the new one:
        // every line once, in order.
        var seen: [String] = []
        var position = WorkerLogReader.Position.after(mark.end, file: mark.file)
        for _ in 0..<10 {
            let page = WorkerLogReader.read(app: "shop", path: path, at: position)
            seen += page.lines
            position = .after(page.end, file: page.file)
        }
        #expect(seen == second)
    }
}
