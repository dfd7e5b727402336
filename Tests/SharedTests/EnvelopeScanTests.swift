import Foundation
import TestSupport
import Testing

@testable import Shared

/// `EnvelopeScan` reads envelopes without tables; it must answer as the general path does
/// (`FastJSON` → `Envelope(json:)` → `validated()`) or decline.
@Suite struct EnvelopeScanTests {
    typealias Outcome = Result<MessageBody, EnvelopeError>

    static let plain = [
        #"{"id":"a-1","app":"shop","source":"right_bracket","type":"arbitration","time":"2026-11-30T10:00:00.000Z","body":{"request_id":"r1","url":"/cart/42","method":"GET","executors":["e1","e2","e3"],"dissenters":[]}}"#,
        #"{"id":"a-2","app":"shop","source":"right_bracket","type":"arbitration","body":{"executors":["e1","e2","e1"],"dissenters":["e2"]}}"#,
        #"{"id":"h","app":"shop","source":"left_bracket","type":"health","body":{"executor":"e1","status":"degraded","latency_ms":12.5}}"#,
        #"{"id":"w","app":"shop","source":"waf","type":"alert","body":{"executor":"e2","severity":"critical","rule":"942100","kind":"sqli","url":"/q"}}"#,
        #"{"id":"f","app":"shop","source":"firewall","type":"alert","time":null,"body":{"address":"10.0.0.5:8080","severity":"low"}}"#,
        #"{"id":"l","app":"shop","source":"waf","type":"list","body":{"list":"blacklist","op":"add","url":"/admin","ttl":"10m"}}"#,
        #"{"id":"s","app":"shop","source":"admin","type":"set_state","body":{"executor":"e3","state":"offline","reason":"patching"}}"#,
        #" { "id" : "r" , "app":"shop", "source":"admin","type":"rotate","body":{ } } "#,
        // A source or type written with escapes names what it unescapes to.
        #"{"id":"e","app":"shop","source":"w\u0061f","type":"\u0061lert","body":{"executor":"e2","severity":"high"}}"#,
        #"{"id":"e","app":"shop","source":"right\u005fbracket","type":"arbitr\u0061tion","body":{"executors":["e1"],"dissenters":[]}}"#,
        // Valid JSON whose checks fail: the same refusal on both paths.
        #"{"id":"x","app":"shop","source":"left_bracket","type":"health","body":{"executor":"e1","status":"sideways"}}"#,
        #"{"id":"x","app":"Shop!","source":"admin","type":"pause","body":{}}"#,
        #"{"id":"","app":"shop","source":"admin","type":"resume","body":{}}"#,
        #"{"id":"x","app":"shop","source":"waf","type":"health","body":{}}"#,
        #"{"id":"x","app":"shop","source":"right_bracket","type":"arbitration","body":{"executors":["e1"],"dissenters":["e9"]}}"#,
        #"{"id":"x","app":"shop","source":"waf","type":"alert","body":{"executor":"e1","address":"1.2.3.4:80","severity":"high"}}"#,
        #"{"id":"x","app":"shop","source":"left_bracket","type":"health","body":{"executor":"e1","status":"up","latency_ms":1e12}}"#,
        #"{"id":"x","app":"shop","source":"left_bracket","type":"health","body":{"executor":"","status":"up"}}"#,
        #"{"id":"x","app":"shop","source":"waf","type":"list","body":{"list":"blacklist","op":"add","url":"/a","ttl":"ever"}}"#,
        #"{"id":"x","app":"shop","source":"right_bracket","type":"arbitration","body":{"executors":"e1","dissenters":[]}}"#,
    ]

    static let declined = [
        // No app: routed by address, which writes the envelope anew on the general path.
        #"{"id":"f","source":"firewall","type":"alert","body":{"address":"10.0.0.5:8080","severity":"low"}}"#,
        #"{"id":"f","app":null,"source":"firewall","type":"alert","body":{"address":"10.0.0.5:8080","severity":"low"}}"#,
        // Keys the scan does not know, escaped or repeated.
        #"{"id":"a","app":"shop","source":"admin","type":"rotate","body":{},"extra":1}"#,
        #"{"id":"a","app":"shop","source":"admin","type":"rotate","body":{"note":"x"}}"#,
        #"{"i\u0064":"a","app":"shop","source":"admin","type":"rotate","body":{}}"#,
        #"{"id":"a","id":"b","app":"shop","source":"admin","type":"rotate","body":{}}"#,
        #"{"id":"a","app":"shop","source":"admin","type":"set_state","body":{"state":"online","state":"offline","executor":"e1"}}"#,
        // Not an envelope of known source and type, or not one JSON value.
        #"{"id":"a","app":"shop","source":"martian","type":"rotate","body":{}}"#,
        #"{"id":"a","app":"shop","source":"admin","type":"rotat","body":{}}"#,
        #"{"id":"a","app":"shop","source":"wafs","type":"rotate","body":{}}"#,
        #"{"id":"a","app":"shop","source":"w\u00e1f","type":"rotate","body":{}}"#,
        #"{"id":"a","app":"shop","source":"admin","type":"","body":{}}"#,
        #"{"id":"a","app":"shop","source":"admin","type":"rotate","body":[]}"#,
        #"{"id":"a","app":"shop","source":"admin","type":"rotate"}"#,
        #"{"id":1,"app":"shop","source":"admin","type":"rotate","body":{}}"#,
        #"{"id":"a","app":"shop","source":"admin","type":"rotate","body":{}} {}"#,
        #"{"id":"a","app":"shop","source":"admin","type":"rotate","body":{"url":{"a":1,"a":2}}}"#,
        #"[{"id":"a","app":"shop","source":"admin","type":"rotate","body":{}}]"#,
    ]

    func general(_ bytes: [UInt8]) -> Envelope? {
        FastJSON.parse(bytes, maxDepth: JSONShapeCheck.maxDepth).flatMap(Envelope.init(json:))
    }

    func outcome(_ body: () throws(EnvelopeError) -> MessageBody) -> Outcome {
        do { return .success(try body()) } catch { return .failure(error) }
    }

    /// Nil when the scan declined; otherwise whether it agreed with the general path.
    func agreement(_ bytes: [UInt8]) -> (agrees: Bool, detail: String)? {
        guard let scanned = EnvelopeScan.scan(bytes, maxDepth: JSONShapeCheck.maxDepth) else { return nil }
        guard let envelope = general(bytes) else { return (false, "the general path refuses what the scan read") }
        let header =
            scanned.id == envelope.id && scanned.app == envelope.app && scanned.source == envelope.source
            && scanned.type == envelope.type && scanned.time == envelope.time
        let fast = outcome { () throws(EnvelopeError) in try Envelope.validated(scanned) }
        let slow = outcome { () throws(EnvelopeError) in try envelope.validated() }
        return (header && fast == slow, "header \(header), scan \(fast), general \(slow)")
    }

    @Test func answersForThePlainCaseAsTheGeneralPathDoes() throws {
        for text in Self.plain {
            let result = try #require(agreement(Array(text.utf8)), "declined: \(text)")
            #expect(result.agrees, "\(text): \(result.detail)")
        }
    }

    @Test func declinesWhatOnlyTheGeneralPathCanJudge() {
        for text in Self.declined {
            #expect(EnvelopeScan.scan(Array(text.utf8), maxDepth: JSONShapeCheck.maxDepth) == nil, "\(text)")
        }
    }

    /// Seeded byte mutations of the plain envelopes (replaced, dropped, repeated, structural
    /// characters put in): whatever the scan still answers for, it answers as the general path.
    @Test func mutatedEnvelopesAgreeOrAreDeclined() {
        var random = SplitMix64(state: 20_261_130)
        let alphabet = Array(#"{}[]",:\ "0123456789.-eE+tfnulxyz_"#.utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF]
        var answered = 0
        for round in 0..<30_000 {
            var bytes = Array(Self.plain[round % Self.plain.count].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                let byte = alphabet.randomElement(using: &random) ?? 0x20
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = byte
                case 1: if bytes.count > 1 { bytes.remove(at: at) }
                default: bytes.insert(byte, at: at)
                }
            }
            guard let result = agreement(bytes) else { continue }
            answered += 1
            #expect(result.agrees, "\(String(decoding: bytes, as: UTF8.self)): \(result.detail)")
        }
        // The mutations must leave the scan plenty to answer for, or this test proves nothing.
        #expect(answered > 1_000, "the scan answered for \(answered) mutated envelopes")
    }

    @Test func theFuzzSeedsAreReadByTheScan() throws {
        let dir = BuiltProducts.packageRoot.appendingPathComponent("fuzz/corpus/envelope").path
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(!names.isEmpty)
        for name in names {
            let bytes = try #require(FileManager.default.contents(atPath: dir + "/" + name)).map { $0 }
            // A seed without app (an alert by address) is the general path's.
            let routed = try #require(general(bytes)).app == nil
            guard let result = agreement(bytes) else {
                #expect(routed, "declined: \(name)")
                continue
            }
            #expect(result.agrees, "\(name): \(result.detail)")
        }
    }
}
