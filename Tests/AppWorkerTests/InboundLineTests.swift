import Shared
import Testing

@testable import AppWorker

struct InboundLineTests {
    func parse(_ text: String) -> InboundLine { InboundLine.parse(Array(text.utf8)) }

    @Test(arguments: [("status", SocketOp.status), ("executors", .executors), ("ping", .ping)])
    func ops(name: String, op: SocketOp) {
        guard case .op(let parsed) = parse(#"{"op":"\#(name)"}"#) else {
            Issue.record("not an op")
            return
        }
        #expect(parsed == op)
    }

    @Test func unknownOp() {
        guard case .malformed(let seq, let reason) = parse(#"{"op":"reboot"}"#) else {
            Issue.record("expected malformed")
            return
        }
        #expect(seq == nil)
        #expect(reason.contains("unknown op 'reboot'"))
    }

    @Test func validFrame() {
        let line =
            #"{"epoch":"j-1","seq":12,"msg":{"id":"r-1","app":"shop","source":"right_bracket","type":"arbitration","body":{"url":"/a","executors":["e1","e2","e3"],"dissenters":["e2"]}}}"#
        guard case .frame(let frame) = parse(line) else {
            Issue.record("expected a frame")
            return
        }
        #expect(frame.epoch == "j-1")
        #expect(frame.seq == 12)
        guard case .valid(let envelope, let body) = frame.message else {
            Issue.record("expected a valid message")
            return
        }
        #expect(envelope.id == "r-1")
        #expect(envelope.source == .rightBracket)
        guard case .arbitration(let arbitration) = body else {
            Issue.record("expected arbitration")
            return
        }
        #expect(arbitration.executors == ["e1", "e2", "e3"])
        #expect(arbitration.dissenters == ["e2"])
        #expect(arbitration.url == "/a")
    }

    @Test(arguments: [
        // Well-formed envelope, refused by validation.
        (#"{"id":"w-9","app":"shop","source":"waf","type":"health","body":{}}"#, "w-9", "not accepted from source"),
        // Not even an envelope: unknown source.
        (#"{"id":"w-10","app":"shop","source":"nobody","type":"health","body":{}}"#, "w-10", "source"),
        // Missing body.
        (#"{"id":"w-11","app":"shop","source":"admin","type":"rotate"}"#, "w-11", "body"),
    ])
    func frameWithInvalidEnvelopeIsStillAFrame(msg: String, id: String, reasonPart: String) {
        guard case .frame(let frame) = parse(#"{"epoch":"j-1","seq":5,"msg":\#(msg)}"#) else {
            Issue.record("expected a frame")
            return
        }
        #expect(frame.seq == 5)
        guard case .invalid(let invalidId, let reason) = frame.message else {
            Issue.record("expected invalid")
            return
        }
        #expect(invalidId == id)
        #expect(reason.contains(reasonPart), "\(reason)")
    }

    @Test func invalidEnvelopeWithoutId() {
        guard case .frame(let frame) = parse(#"{"epoch":"j-1","seq":6,"msg":{"app":"shop"}}"#),
            case .invalid(let id, _) = frame.message
        else {
            Issue.record("expected an invalid frame")
            return
        }
        #expect(id == nil)
    }

    @Test func aFrameWithAWronglyTypedFieldNamesTheField() {
        guard case .malformed(_, let reason) = parse(#"{"epoch":"j","seq":"one","msg":{}}"#) else {
            Issue.record("expected malformed")
            return
        }
        #expect(reason.hasPrefix("not a frame: seq"))
    }

    @Test(arguments: ["{not json", "", "[1,2]", "\"text\""])
    func malformedJSON(text: String) {
        guard case .malformed(let seq, let reason) = parse(text) else {
            Issue.record("expected malformed")
            return
        }
        #expect(seq == nil)
        #expect(reason.hasPrefix("not a JSON object"))
    }

    @Test func missingSeqOrEpochOrMsg() {
        let msg = #"{"id":"a","app":"shop","source":"admin","type":"rotate","body":{}}"#
        guard case .malformed(let noSeq, let reason) = parse(#"{"epoch":"j-1","msg":\#(msg)}"#) else {
            Issue.record("expected malformed")
            return
        }
        #expect(noSeq == nil)
        #expect(reason.contains("seq"))
        guard case .malformed(let zero, _) = parse(#"{"epoch":"j-1","seq":0,"msg":\#(msg)}"#) else {
            Issue.record("seq 0 must be malformed")
            return
        }
        #expect(zero == 0)
        guard case .malformed(let noEpoch, _) = parse(#"{"seq":4,"msg":\#(msg)}"#) else {
            Issue.record("missing epoch must be malformed")
            return
        }
        #expect(noEpoch == 4)
        guard case .malformed(let noMsg, let why) = parse(#"{"epoch":"j-1","seq":9}"#) else {
            Issue.record("missing msg must be malformed")
            return
        }
        #expect(noMsg == 9)
        #expect(why.contains("msg"))
    }
}
