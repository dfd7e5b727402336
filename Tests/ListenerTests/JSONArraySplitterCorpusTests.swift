import Foundation
import TestSupport
import Testing

@testable import Listener

/// Replays fuzz/corpus/json-array (the `make fuzz` target for the listener's array splitter) in
/// the normal suite, with the target's own invariants: ranges in order, in bounds, non-empty.
@Suite struct JSONArraySplitterCorpusTests {
    @Test func corpusReplays() {
        let dir = BuiltProducts.packageRoot.appendingPathComponent("fuzz/corpus/json-array").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        #expect(!names.isEmpty)
        for name in names {
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else { continue }
            let bytes = Array(data)
            guard let ranges = JSONArraySplitter.elements(bytes) else { continue }
            var last = 0
            for range in ranges {
                #expect(range.lowerBound >= last && range.upperBound <= bytes.count && !range.isEmpty, "\(name)")
                last = range.upperBound
            }
        }
    }

    @Test func splitsAroundBracketsInStrings() {
        let text = Array("[{\"id\":\"a\",\"x\":[1,2,{\"y\":\"]\"}]} , {\"id\":\"b\\\"]\"}]".utf8)
        let ranges = JSONArraySplitter.elements(text)
        #expect(ranges?.count == 2)
    }
}
