import Foundation
import TestSupport
import Testing

@testable import Shared

/// Replays the fuzz corpora of `make fuzz` through the same code the libFuzzer targets drive
/// (fuzz/targets/envelope.swift, config.swift), so every input kept there, including any crash
/// found and its fix, stays a regression test of the normal suite.
@Suite struct FuzzCorpusReplayTests {
    static func inputs(_ target: String) -> [(name: String, bytes: [UInt8])] {
        let dir = BuiltProducts.packageRoot.appendingPathComponent("fuzz/corpus/\(target)").path
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        return names.compactMap { name in
            FileManager.default.contents(atPath: dir + "/" + name).map { (name, Array($0)) }
        }
    }

    @Test func envelopeCorpus() {
        let inputs = Self.inputs("envelope")
        #expect(!inputs.isEmpty)
        for (name, bytes) in inputs {
            // The seeds are valid envelopes; regression inputs (named regress-*) must merely not crash.
            let problem = JSONShapeCheck.problem(bytes)
            let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes))
            let body = try? envelope?.validated()
            if !name.hasPrefix("regress-") {
                #expect(problem == nil && body != nil, "seed \(name) no longer validates")
            }
        }
    }

    @Test func configCorpus() {
        let inputs = Self.inputs("config")
        #expect(!inputs.isEmpty)
        for (name, bytes) in inputs where !bytes.isEmpty {
            let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
            let loaded: Bool
            if bytes[0] & 1 == 0 {
                loaded = (try? ConfigLoader.loadApp(text: text, file: "fuzz.yaml")) != nil
            } else {
                loaded = (try? ConfigLoader.loadListener(text: text, file: "fuzz.yaml")) != nil
            }
            if !name.hasPrefix("regress-") { #expect(loaded, "seed \(name) no longer loads") }
        }
    }

    /// Shapes the fuzzer and the bad-input tests pointed at: deep, duplicated, escaped, truncated.
    @Test(
        arguments: [
            ("{\"a\":1,\"a\":2}", "duplicate key \"a\" in one object"),
            ("{\"a\":{\"b\":1,\"\\u0062\":2}}", "duplicate key \"b\" in one object"),
            ("[{\"a\":1},{\"a\":2}]", nil),
            ("{\"a\":\"{\\\"a\\\":1,\\\"a\\\":2}\"}", nil),
            (String(repeating: "[", count: 33), "JSON nested deeper than 32 levels"),
            (String(repeating: "[", count: 32), nil),
            ("{\"unterminated", nil),
            ("}}}]]]", nil),
        ] as [(String, String?)])
    func shapeCheck(_ text: String, _ expected: String?) {
        #expect(JSONShapeCheck.problem(Array(text.utf8)) == expected)
    }

    @Test func invalidUTF8IsAShapeProblem() {
        #expect(JSONShapeCheck.problem([0x7B, 0xC3, 0x28, 0x7D]) == "invalid UTF-8 in the message")
    }
}
