/// One journal record on disk (see docs/journal.md):
///
///     u32 LE  bodyLength        bytes after the 16-byte header
///     u32 LE  crc32c            over seq (8 bytes) + body
///     u64 LE  seq
///     body:   u16 LE keyLength, key ("<source>\u{1F}<id>"), envelope JSON (one line, no LF)
struct JournalRecord: Sendable, Equatable {
    static let headerSize = 16
    /// Bodies larger than this cannot be records: a header claiming more is a torn or corrupt tail.
    static let maxBodySize = 64 << 20

    var seq: UInt64
    /// Idempotency key: source and id of the envelope.
    var key: String
    /// The envelope as forwarded to the worker.
    var envelope: [UInt8]

    static func encodedSize(keyBytes: Int, envelopeBytes: Int) -> Int {
        headerSize + 2 + keyBytes + envelopeBytes
    }

    var encodedSize: Int { Self.encodedSize(keyBytes: key.utf8.count, envelopeBytes: envelope.count) }

    static func key(source: String, id: String) -> String { "\(source)\u{1F}\(id)" }

    func encode(into out: inout [UInt8]) {
        let keyBytes = Array(key.utf8)
        let bodyLength = 2 + keyBytes.count + envelope.count
        let start = out.count
        Self.appendLE(UInt32(bodyLength), to: &out)
        Self.appendLE(UInt32(0), to: &out)  // crc, patched below
        Self.appendLE(seq, to: &out)
        Self.appendLE(UInt16(keyBytes.count), to: &out)
        out.append(contentsOf: keyBytes)
        out.append(contentsOf: envelope)
        let crc = out.withUnsafeBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 8)...]))
        }
        out[start + 4] = UInt8(truncatingIfNeeded: crc)
        out[start + 5] = UInt8(truncatingIfNeeded: crc >> 8)
        out[start + 6] = UInt8(truncatingIfNeeded: crc >> 16)
        out[start + 7] = UInt8(truncatingIfNeeded: crc >> 24)
    }

    enum DecodeResult: Equatable {
        case record(JournalRecord, size: Int)
        /// Not enough bytes for a whole record: a torn tail, or the end.
        case incomplete
        /// The bytes are there but do not form a record (checksum or length wrong).
        case corrupt(String)
    }

    /// Reads the record at `offset` of `bytes`.
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> DecodeResult {
        let available = bytes.count - offset
        guard available >= headerSize else { return .incomplete }
        let bodyLength = Int(readLE(UInt32.self, bytes, offset))
        guard bodyLength >= 2, bodyLength <= maxBodySize else {
            return .corrupt("record length \(bodyLength) out of range")
        }
        guard available >= headerSize + bodyLength else { return .incomplete }
        let storedCRC = readLE(UInt32.self, bytes, offset + 4)
        let crc = CRC32C.checksum(
            UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<(offset + headerSize + bodyLength)]))
        guard crc == storedCRC else { return .corrupt("checksum mismatch") }
        let seq = readLE(UInt64.self, bytes, offset + 8)
        let keyLength = Int(readLE(UInt16.self, bytes, offset + 16))
        guard 2 + keyLength <= bodyLength else { return .corrupt("key length \(keyLength) out of range") }
        let keyStart = offset + headerSize + 2
        let key = String(
            decoding: UnsafeRawBufferPointer(rebasing: bytes[keyStart..<(keyStart + keyLength)]), as: UTF8.self)
        let envelope = Array(bytes[(keyStart + keyLength)..<(offset + headerSize + bodyLength)])
        return .record(JournalRecord(seq: seq, key: key, envelope: envelope), size: headerSize + bodyLength)
    }

    private static func appendLE<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { out.append(contentsOf: $0) }
    }

    private static func readLE<T: FixedWidthInteger>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer, _ offset: Int)
        -> T
    {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + MemoryLayout<T>.size)]))
        }
        return T(littleEndian: value)
    }
}
