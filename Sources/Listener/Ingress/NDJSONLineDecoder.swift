import NIOCore

/// One line of an NDJSON stream, or the news that a line was longer than allowed (its bytes are
/// dropped up to the next newline, and the stream goes on).
enum NDJSONLine {
    case line(ByteBuffer)
    case tooLong(Int)
}

struct NDJSONLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = NDJSONLine
    let maxLineBytes: Int
    private var discarding = 0
    private var scanned = 0

    init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let start = view.startIndex + scanned
        if let newline = view[start...].firstIndex(of: 0x0A) {
            let length = newline - view.startIndex
            scanned = 0
            if discarding > 0 {
                let total = discarding + length
                discarding = 0
                buffer.moveReaderIndex(forwardBy: length + 1)
                context.fireChannelRead(NIOAny(NDJSONLine.tooLong(total)))
                return .continue
            }
            var line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == 0x0D {
                line.moveWriterIndex(to: line.writerIndex - 1)
            }
            if line.readableBytes > maxLineBytes {
                context.fireChannelRead(NIOAny(NDJSONLine.tooLong(line.readableBytes)))
            } else {
                context.fireChannelRead(NIOAny(NDJSONLine.line(line)))
            }
            return .continue
        }
        if buffer.readableBytes > maxLineBytes || discarding > 0 {
            discarding += buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            scanned = 0
            return .needMoreData
        }
        scanned = view.count
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        // A last line without its newline is a truncated message: it is not answered.
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}
