import Testing

@testable import AppWorker

/// Which frames may wait in the inbox for company (`FrameHold`): only those that change nothing
/// anyone waits on.
struct FrameHoldTests {
    /// A frame as the listener sends it, read the way the worker reads it.
    static func frame(seq: UInt64 = 1, source: String, type: String, body: String) -> InboundFrame {
        let line =
            #"{"epoch":"e","seq":\#(seq),"msg":{"id":"m\#(seq)","app":"shop","source":"\#(source)","type":"\#(type)","body":\#(body)}}"#
        guard case .frame(let frame) = InboundLine.parse(Array(line.utf8)) else {
            Issue.record("not a frame: \(line)")
            return InboundFrame(epoch: "e", seq: seq, at: nil, message: .invalid(id: nil, reason: "test"))
        }
        return frame
    }

    static func agreement(seq: UInt64 = 1) -> InboundFrame {
        frame(
            seq: seq, source: "right_bracket", type: "arbitration",
            body: #"{"executors":["e1","e2","e3"],"dissenters":[]}"#)
    }

    static func healthUp(seq: UInt64 = 1) -> InboundFrame {
        frame(seq: seq, source: "left_bracket", type: "health", body: #"{"executor":"e1","status":"up"}"#)
    }

    static func dissent(seq: UInt64 = 1) -> InboundFrame {
        frame(
            seq: seq, source: "right_bracket", type: "arbitration",
            body: #"{"executors":["e1","e2","e3"],"dissenters":["e2"]}"#)
    }

    @Test func agreementsAndExecutorsReportedUpAreQuiet() {
        #expect(FrameHold.isQuiet([Self.agreement(), Self.healthUp(seq: 2), Self.agreement(seq: 3)]))
    }

    @Test func everythingThatCanFlagOrOrderIsNot() {
        let loud: [(String, InboundFrame)] = [
            ("a dissent", Self.dissent()),
            (
                "health down",
                Self.frame(source: "left_bracket", type: "health", body: #"{"executor":"e1","status":"down"}"#)
            ),
            (
                "health degraded",
                Self.frame(source: "left_bracket", type: "health", body: #"{"executor":"e1","status":"degraded"}"#)
            ),
            (
                "a WAF alert",
                Self.frame(source: "waf", type: "alert", body: #"{"executor":"e1","severity":"low"}"#)
            ),
            (
                "a list change",
                Self.frame(source: "admin", type: "list", body: #"{"list":"blacklist","op":"add","url":"/x"}"#)
            ),
            ("a rotation order", Self.frame(source: "admin", type: "rotate", body: "{}")),
            ("an invalid message", Self.frame(source: "waf", type: "alert", body: #"{"severity":"low"}"#)),
        ]
        for (name, frame) in loud {
            #expect(!FrameHold.isQuiet([frame]), "\(name) is not quiet")
            #expect(!FrameHold.isQuiet([Self.agreement(), frame]), "\(name) makes its batch loud")
        }
    }
}
