import Shared
import Testing

@testable import AppWorker

/// The `why` op's memory of recent messages: bounded in count and in size.
struct CauseMessagesTests {
    private static func envelope(_ id: String, url: String = "/login") -> Envelope {
        Envelope(
            id: id, app: "shop", source: .waf, type: .alert,
            body: .object(["executor": .string("e1"), "severity": .string("low"), "url": .string(url)]))
    }

    private static func valid(_ id: String, url: String = "/login") -> ValidEnvelope {
        ValidEnvelope(envelope(id, url: url))
    }

    @Test func keepsTheNewestMessagesUpToItsCapacity() {
        let causes = CauseMessages()
        causes.remember((0..<CauseMessages.capacity).map { Self.valid("old-\($0)") })
        causes.remember([Self.valid("new-0"), Self.valid("new-1")])
        #expect(causes.message("old-0") == nil, "the oldest made room")
        #expect(causes.message("old-1") == nil)
        #expect(causes.message("old-2") == Self.envelope("old-2"))
        #expect(causes.message("new-1") == Self.envelope("new-1"))
    }

    @Test func aMessageLargerThanTheBoundIsNotKept() {
        let causes = CauseMessages()
        let large = Self.valid("large", url: String(repeating: "a", count: CauseMessages.maxEnvelopeBytes))
        causes.remember([large, Self.valid("small")])
        #expect(causes.message("large") == nil)
        #expect(causes.message("small") != nil)
        #expect(CauseMessages.estimatedSize(Self.envelope("small")) < 1024)
    }

    /// A frame read by the scan keeps its envelope's bytes: `why` shows the envelope the general
    /// path would have read, and the size bound applies to those bytes.
    @Test func aScannedEnvelopeIsShownAsSent() throws {
        let text =
            #"{"id":"w-1","app":"shop","source":"waf","type":"alert","body":{"executor":"e1","severity":"low","url":"/login"}}"#
        let line = #"{"epoch":"j","seq":1,"at":5,"msg":"# + text + "}"
        guard case .frame(let frame) = InboundLine.parse(Array(line.utf8)), case .valid(let valid, _) = frame.message
        else {
            Issue.record("not read as a valid frame")
            return
        }
        #expect(valid.byteCount == text.utf8.count, "read by the scan, bytes kept")
        let causes = CauseMessages()
        causes.remember([valid])
        #expect(causes.message("w-1") == FastJSON.parse(Array(text.utf8)).flatMap(Envelope.init(json:)))
        #expect(causes.message("w-1") == Self.envelope("w-1"))
        let large = text.replacingOccurrences(
            of: "/login", with: String(repeating: "a", count: CauseMessages.maxEnvelopeBytes))
        guard case .frame(let big) = InboundLine.parse(Array((#"{"epoch":"j","seq":2,"msg":"# + large + "}").utf8)),
            case .valid(let bigValid, _) = big.message
        else {
            Issue.record("not read as a valid frame")
            return
        }
        #expect(CauseMessages.estimatedSize(bigValid) > CauseMessages.maxEnvelopeBytes)
    }
}
