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
