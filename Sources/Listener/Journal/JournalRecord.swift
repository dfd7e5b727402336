import Shared

/// One journal record on disk (see docs/journal.md, "Segment files"). Two formats share a file:
///
///     u32 LE  lengthWord        bit 31: format 2; bits 0-30: bodyLength, bytes after the header
///     u32 LE  crc32c            over seq (8 bytes) + body
///     u64 LE  seq
///     body, format 2:  i64 LE at (accept time, unix ms), u16 LE keyLength, key, envelope
///     body, format 1:  u16 LE keyLength, key, envelope      (written by the first release)
///
/// The flag sits in a bit format 1 could never set (its bodies were at most 64 MiB), so a journal
/// with segments of both releases reads each record as what it is.
struct JournalRecord: Sendable, Equatable {
    static let headerSize = 16
    /// Bodies larger than this cannot be records: a header claiming more is a torn or corrupt tail.
    static let maxBodySize = 64 << 20
    /// Bit 31 of the length word: the record is format 2 (it carries `at`).
    static let format2Flag: UInt32 = 1 << 31
    /// Bytes `at` adds to a format-2 body.
    static let atSize = 8

    var seq: UInt64
    /// The listener's accept time (unix ms); nil for a format-1 record, which never had one.
    var at: Int64?
    /// Idempotency key: source and id of the envelope.
    var key: String
    /// The envelope as forwarded to the worker.
    var envelope: [UInt8]

    init(seq: UInt64, at: Int64?, key: String, envelope: [UInt8]) {
        self.seq = seq
        self.at = at
        self.key = key
        self.envelope = envelope
    }

    /// The size of a record written now (format 2).
    static func encodedSize(keyBytes: Int, envelopeBytes: Int) -> Int {
        headerSize + atSize + 2 + keyBytes + envelopeBytes
    }

    var encodedSize: Int {
        Self.encodedSize(keyBytes: key.utf8.count, envelopeBytes: envelope.count) - (at == nil ? Self.atSize : 0)
    }

    static func key(source: String, id: String) -> String { "\(source)\u{1F}\(id)" }

    /// Appends the record; format 2 when it has `at` (every record admitted by this release),
    /// format 1 otherwise (kept for tests that build an old journal).
    func encode(into out: inout [UInt8]) {
        let start = out.count
        let keyCount = key.utf8.count
        let bodyLength = (at == nil ? 0 : Self.atSize) + 2 + keyCount + envelope.count
        Self.appendLE(UInt32(bodyLength) | (at == nil ? 0 : Self.format2Flag), to: &out)
        Self.appendLE(UInt32(0), to: &out)  // crc, patched below
        Self.appendLE(seq, to: &out)
        if let at { Self.appendLE(at, to: &out) }
        Self.appendLE(UInt16(keyCount), to: &out)
        out.append(contentsOf: key.utf8)
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

    /// Reads the record at `offset` of `bytes`, in either format.
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> DecodeResult {
        let available = bytes.count - offset
        guard available >= headerSize else { return .incomplete }
        let word = readLE(UInt32.self, bytes, offset)
        let isFormat2 = word & format2Flag != 0
        let bodyLength = Int(word & ~format2Flag)
        let fixed = (isFormat2 ? atSize : 0) + 2
        guard bodyLength >= fixed, bodyLength <= maxBodySize else {
            return .corrupt("record length \(bodyLength) out of range")
        }
        guard available >= headerSize + bodyLength else { return .incomplete }
        let storedCRC = readLE(UInt32.self, bytes, offset + 4)
        let crc = CRC32C.checksum(
            UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<(offset + headerSize + bodyLength)]))
        guard crc == storedCRC else { return .corrupt("checksum mismatch") }
        let seq = readLE(UInt64.self, bytes, offset + 8)
        var cursor = offset + headerSize
        var at: Int64?
        if isFormat2 {
            let stamped = readLE(Int64.self, bytes, cursor)
            // Stamps are clamped into the frame's range when admitted; anything else was not ours.
            guard DeliveryFrame.atRange.contains(stamped) else {
                return .corrupt("accept time \(stamped) out of range")
            }
            at = stamped
            cursor += atSize
        }
        let keyLength = Int(readLE(UInt16.self, bytes, cursor))
        guard fixed + keyLength <= bodyLength else { return .corrupt("key length \(keyLength) out of range") }
        let keyStart = cursor + 2
        let key = String(
            decoding: UnsafeRawBufferPointer(rebasing: bytes[keyStart..<(keyStart + keyLength)]), as: UTF8.self)
        let envelope = Array(bytes[(keyStart + keyLength)..<(offset + headerSize + bodyLength)])
        return .record(JournalRecord(seq: seq, at: at, key: key, envelope: envelope), size: headerSize + bodyLength)
    }

    private static func appendLE<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { out.append(contentsOf: $0) }
    }

    static func readLE<T: FixedWidthInteger>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + MemoryLayout<T>.size)]))
        }
        return T(littleEndian: value)
    }
}
