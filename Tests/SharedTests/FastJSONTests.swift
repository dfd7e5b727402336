import Foundation
import Shared
import Testing

/// FastJSON must give exactly what JSONDecoder gives for what it accepts, and refuse (nil, so the
/// callers fall back to JSONDecoder) everything it is not sure about.
@Suite struct FastJSONTests {
    static let documents = [
        #"{"id":"w-1","app":"shop","source":"right_bracket","type":"arbitration","body":{"request_id":"r9","url":"/login","method":"POST","executors":["e1","e2","e3"],"dissenters":["e2"]}}"#,
        #"{"a":null,"b":true,"c":false,"d":-0.5e3,"e":[],"f":{},"g":[1,2.25,"x",[null]],"h":0}"#,
        #"  {"esc":"q\"b\\s\/n\nt\tr\ru\u00e9\ud83d\ude00","utf8":"h\u00e9llo ✓"}  "#,
        #"[1,-2,3.5,1E2,1e-2,123456789012345678901234]"#,
        #""just a string""#,
        "{\"nested\":{\"deeper\":{\"x\":[{\"y\":1}]}}}",
    ]

    @Test(arguments: documents) func sameValueAsJSONDecoder(_ text: String) throws {
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(FastJSON.parse(Array(text.utf8)) == expected)
    }

    @Test(arguments: [
        "", "{", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{\"a\":1}x", "{\"a\":1,\"a\":2}", "\"\\x\"", "\"\\ud800\"",
        "\"a\u{01}b\"", "01", "1.", "-", "1e400", "tru", "nul", "{\"a\":[1 2]}", "'a'",
    ]) func refusesWhatItIsNotSureAbout(_ text: String) {
        #expect(FastJSON.parse(Array(text.utf8)) == nil)
    }

    @Test func refusesInvalidUTF8() {
        #expect(FastJSON.parse([0x22, 0xFF, 0xFE, 0x22]) == nil)
    }

    @Test func integerLiteralsOnlyRefusesFractionsAndExponents() {
        #expect(FastJSON.parse(Array("{\"seq\":1.0}".utf8), integerLiteralsOnly: true) == nil)
        #expect(FastJSON.parse(Array("{\"seq\":1e0}".utf8), integerLiteralsOnly: true) == nil)
        #expect(FastJSON.parse(Array("{\"seq\":12}".utf8), integerLiteralsOnly: true) == .object(["seq": .number(12)]))
    }

    @Test(arguments: [
        #"{"id":"w-1","app":"shop","source":"right_bracket","type":"arbitration","time":"2026-11-26T10:00:00.000Z","body":{"executors":["e1"],"dissenters":[]},"extra":1}"#,
        #"{"id":"f-1","source":"firewall","type":"alert","app":null,"body":{"address":"10.0.0.12","severity":"high","kind":"port_scan"}}"#,
    ]) func envelopeMatchesDecodable(_ text: String) throws {
        let expected = try JSONDecoder().decode(Envelope.self, from: Data(text.utf8))
        let value = try #require(FastJSON.parse(Array(text.utf8)))
        #expect(Envelope(json: value) == expected)
    }

    @Test(arguments: [
        #"{"id":"w-1","app":5,"source":"waf","type":"alert","body":{}}"#,
        #"{"id":"w-1","source":"nobody","type":"alert","body":{}}"#,
        #"{"id":"w-1","source":"waf","type":"alert"}"#,
        #"{"id":7,"source":"waf","type":"alert","body":{}}"#,
        #"{"id":"w-1","source":"waf","type":"alert","time":1,"body":{}}"#,
    ]) func envelopeRefusesWhatDecodableRefuses(_ text: String) throws {
        #expect(throws: (any Error).self) { try JSONDecoder().decode(Envelope.self, from: Data(text.utf8)) }
        let value = try #require(FastJSON.parse(Array(text.utf8)))
        #expect(Envelope(json: value) == nil)
    }

    /// The listener skips the shape check for what FastJSON parses at the check's depth: that is
    /// only sound if everything the check refuses, FastJSON refuses too.
    @Test(arguments: [
        #"{"app":"a","app":"b"}"#,
        #"{"body":{"x":1,"x":2}}"#,
        #"{"\u0061pp":"a","app":"b"}"#,
        String(repeating: "[", count: 33) + String(repeating: "]", count: 33),
        String(repeating: "{\"a\":", count: 33) + "1" + String(repeating: "}", count: 33),
    ]) func whatTheShapeCheckRefusesFastJSONRefusesAtItsDepth(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(JSONShapeCheck.problem(bytes) != nil)
        #expect(FastJSON.parse(bytes, maxDepth: JSONShapeCheck.maxDepth) == nil, "\(text)")
    }

    @Test func invalidUTF8AndTheDepthLimitAreRefusedLikeTheShapeCheck() {
        let invalid: [UInt8] = Array("{\"a\":\"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        #expect(JSONShapeCheck.problem(invalid) != nil)
        #expect(FastJSON.parse(invalid, maxDepth: JSONShapeCheck.maxDepth) == nil)
        let deepest = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        let tooDeep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(JSONShapeCheck.problem(Array(deepest.utf8)) == nil)
        #expect(JSONShapeCheck.problem(Array(tooDeep.utf8)) != nil)
        #expect(FastJSON.parse(Array(deepest.utf8), maxDepth: JSONShapeCheck.maxDepth) != nil)
        #expect(FastJSON.parse(Array(tooDeep.utf8), maxDepth: JSONShapeCheck.maxDepth) == nil)
    }
}
