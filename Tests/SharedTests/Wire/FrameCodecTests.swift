import Foundation
import NIOCore
import Shared
import Testing

/// The app socket's frame, ack and op lines: what one side writes, the other reads back.
@Suite struct FrameCodecTests {
    @Test func aWrittenFrameReadsBack() throws {
        let writer = DeliveryFrame.Writer(epoch: "e1f0")
        let envelope = #"{"id":"a-1","app":"shop","source":"admin","type":"rotate","body":{}}"#
        var buffer = ByteBuffer()
        writer.write(seq: 42, at: DeliveryFrame.atRange.upperBound, envelope: Array(envelope.utf8), into: &buffer)
        let line = String(buffer: buffer)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        #expect(buffer.readableBytes <= writer.frameSize(envelopeBytes: envelope.utf8.count))
        let frame = try #require(DeliveryFrame(line: Array(line.dropLast().utf8)))
        #expect(frame.epoch == "e1f0" && frame.seq == 42 && frame.at == DeliveryFrame.atRange.upperBound)
        #expect(frame.msg == FastJSON.parse(Array(envelope.utf8)))
    }

    /// The written layout is read in place; any other layout of the same frame goes through the
    /// general parse. Both must give the same frame.
    @Test(arguments: [
        #"{"id":"h-1","app":"shop","source":"left_bracket","type":"health","body":{"executor":"e1","status":"up","latency_ms":12}}"#,
        #"{"id":"w-1","app":"shop","source":"right_bracket","type":"arbitration","body":{"executors":["e1","e2"],"dissenters":[],"url":"/a?b=\u00e9"}}"#,
    ]) func theWrittenLayoutAndAnyOtherLayoutReadTheSame(_ envelope: String) throws {
        var buffer = ByteBuffer()
        DeliveryFrame.Writer(epoch: "e1f0").write(
            seq: 9_007_199_254_740_992, at: 1_700_000_000_123, envelope: Array(envelope.utf8), into: &buffer)
        let written = try #require(DeliveryFrame(line: Array(String(buffer: buffer).dropLast().utf8)))
        let reordered = #"{ "msg": \#(envelope), "at": 1700000000123, "seq": 9007199254740992, "epoch": "e1f0" }"#
        #expect(DeliveryFrame(line: Array(reordered.utf8)) == written)
        #expect(written.msg == FastJSON.parse(Array(envelope.utf8)))
        #expect(written.seq == DeliveryFrame.maxSeq && written.at == 1_700_000_000_123 && written.epoch == "e1f0")
    }

    /// The general parse reads integers only (a frame's seq), so a fraction anywhere sent a whole
    /// frame down the Codable path; the written layout parses the envelope as JSONDecoder would.
    @Test func aFractionInTheEnvelopeIsReadInPlaceAsJSONDecoderReadsIt() throws {
        let envelope =
            #"{"id":"h-1","app":"shop","source":"left_bracket","type":"health","body":{"executor":"e1","status":"up","latency_ms":12.5}}"#
        var buffer = ByteBuffer()
        DeliveryFrame.Writer(epoch: "e1").write(seq: 3, at: 5, envelope: Array(envelope.utf8), into: &buffer)
        let frame = try #require(DeliveryFrame(line: Array(String(buffer: buffer).dropLast().utf8)))
        #expect(frame.msg == (try JSONDecoder().decode(JSONValue.self, from: Data(envelope.utf8))))
    }

    @Test(arguments: [
        #"{"epoch":"e","seq":01,"msg":{}}"#,
        #"{"epoch":"e","seq":1,"msg":{},"op":"status"}"#,
        #"{"epoch":"e","seq":1,"at":253402300800000,"msg":{}}"#,
        #"{"epoch":"e","seq":1,"msg":{"a":1,"a":2}}"#,
        #"{"epoch":"e","seq":1,"msg":{}"#,
    ]) func writtenLayoutsThatAreNotFramesAreDeclinedToo(line: String) {
        #expect(DeliveryFrame(line: Array(line.utf8)) == nil)
    }

    @Test func aFrameOfAFormatOneRecordHasNoAcceptTime() throws {
        var buffer = ByteBuffer()
        DeliveryFrame.Writer(epoch: "e1").write(seq: 1, at: nil, envelope: Array("{}".utf8), into: &buffer)
        let line = String(buffer: buffer)
        #expect(!line.contains("\"at\""))
        #expect(try #require(DeliveryFrame(line: Array(line.dropLast().utf8))).at == nil)
    }

    @Test func helloAndGapLinesRoundTrip() throws {
        let hello = WorkerHello(epoch: "e1", seq: 7)
        #expect(WorkerHello.parse(Array(hello.line.utf8)) == hello)
        #expect(WorkerHello.parse(Array(WorkerHello(epoch: nil, seq: 0).line.utf8))?.hello.epoch == nil)
        let gap = GapFrame(epoch: "e1", from: 3, to: 9)
        #expect(GapFrame.parse(Array(gap.line.utf8)) == gap && gap.skipped == 7 && !gap.isVoid)
        let void = GapFrame(epoch: "e1", from: 3, to: 3, void: true)
        #expect(GapFrame.parse(Array(void.line.utf8)) == void && void.isVoid)
        for line in [
            #"{"gap":{"epoch":"e1","from":9,"to":3}}"#, #"{"gap":{"epoch":"","from":1,"to":3}}"#,
            #"{"gap":{"epoch":"e1","from":0,"to":3}}"#, #"{"gap":{"epoch":"e1","from":1,"to":9007199254740993}}"#,
        ] {
            #expect(GapFrame.parse(Array(line.utf8)) == nil, "\(line)")
        }
    }

    @Test(arguments: [
        #"{"op":"status"}"#,
        #"{"epoch":"","seq":1,"msg":{}}"#,
        #"{"epoch":"e","seq":0,"msg":{}}"#,
        #"{"epoch":"e","seq":1.5,"msg":{}}"#,
        #"{"epoch":"e","seq":-1,"msg":{}}"#,
        #"{"epoch":"e","seq":10000000000000000,"msg":{}}"#,
        #"{"epoch":"e","seq":1}"#,
        #"{"epoch":1,"seq":1,"msg":{}}"#,
        #"{"epoch":"e","seq":1,"at":-1,"msg":{}}"#,
        #"{"epoch":"e","seq":1,"at":1.5,"msg":{}}"#,
        #"{"epoch":"e","seq":1,"at":"1","msg":{}}"#,
        #"{"epoch":"e","seq":1,"at":9223372036854775807,"msg":{}}"#,
        #"[1]"#,
        "",
    ])
    func linesThatAreNotFramesAreDeclined(line: String) {
        #expect(DeliveryFrame(line: Array(line.utf8)) == nil)
    }

    @Test func acksRoundTripAndOtherLinesAreNotAcks() {
        for seq: UInt64 in [0, 1, 123, 9_999_999_999_999_999_999] {
            var buffer = ByteBuffer()
            AckFrame(seq: seq).write(into: &buffer)
            #expect(String(buffer: buffer) == AckFrame(seq: seq).line)
            #expect(AckFrame.parse(buffer.readableBytesView) == AckFrame(seq: seq))
        }
        #expect(AckFrame.parse(Array(#"{"ack": 7 }"#.utf8)) == AckFrame(seq: 7))
        #expect(AckFrame.parse(Array(#"{""ack":8}"#.utf8)) == AckFrame(seq: 8))
        #expect(AckFrame.parse(Array(#"{"error":"bad","seq":3}"#.utf8)) == nil)
        #expect(AckFrame.parse(Array(#"{"ack":"x"}"#.utf8)) == nil)
        #expect(AckFrame.parse(Array(#"{"ack":99999999999999999999}"#.utf8)) == nil, "20 digits do not fit a seq")
    }

    @Test func opLinesAreWhatTheWorkerReads() {
        for op in SocketOp.allCases {
            #expect(op.line == "{\"op\":\"\(op.rawValue)\"}\n")
        }
    }
}
