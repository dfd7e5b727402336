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

    @Test func keepsTheNewestMessagesUpToItsCapacity() {
        let causes = CauseMessages()
        causes.remember((0..<CauseMessages.capacity).map { Self.envelope("old-\($0)") })
        causes.remember([Self.envelope("new-0"), Self.envelope("new-1")])
        #expect(causes.message("old-0") == nil, "the oldest made room")
        #expect(causes.message("old-1") == nil)
        #expect(causes.message("old-2") == Self.envelope("old-2"))
        #expect(causes.message("new-1") == Self.envelope("new-1"))
    }

    @Test func aMessageLargerThanTheBoundIsNotKept() {
        let causes = CauseMessages()
        let large = Self.envelope("large", url: String(repeating: "a", count: CauseMessages.maxEnvelopeBytes))
        causes.remember([large, Self.envelope("small")])
        #expect(causes.message("large") == nil)
        #expect(causes.message("small") != nil)
        #expect(CauseMessages.estimatedSize(Self.envelope("small")) < 1024)
    }
}
