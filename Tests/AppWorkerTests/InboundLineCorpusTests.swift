import Foundation
import TestSupport
import Testing

@testable import AppWorker

/// Replays fuzz/corpus/inbound-line (the `make fuzz` target for the worker's line parser) in the
/// normal suite: no input may crash it, and a parsed frame always has seq >= 1.
@Suite struct InboundLineCorpusTests {
    @Test func corpusReplays() {
        let dir = BuiltProducts.packageRoot.appendingPathComponent("fuzz/corpus/inbound-line").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        #expect(!names.isEmpty)
        for name in names {
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else { continue }
            if case .frame(let frame) = InboundLine.parse(Array(data)) { #expect(frame.seq >= 1, "\(name)") }
        }
    }
}
