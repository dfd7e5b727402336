/// Finds the top-level elements of a JSON array without decoding them, so each element's own bytes
/// can be journaled as sent. Returns nil when the bytes are not a well-bracketed array.
enum JSONArraySplitter {
    static func firstSignificantByte(_ bytes: [UInt8]) -> UInt8? {
        bytes.first { !isWhitespace($0) }
    }

    static func elements(_ bytes: [UInt8]) -> [Range<Int>]? {
        var index = 0
        while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
        index += 1
        var result: [Range<Int>] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start: Int?
        var closed = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                if start == nil { start = index }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if start == nil { start = index }
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 {
                    guard byte == UInt8(ascii: "]") else { return nil }
                    if let begin = start {
                        result.append(begin..<trimEnd(bytes, index))
                    } else if !result.isEmpty {
                        return nil
                    }
                    closed = true
                    index += 1
                    while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
                    return index == bytes.count ? result : nil
                }
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 0 {
                    guard let begin = start else { return nil }
                    result.append(begin..<trimEnd(bytes, index))
                    start = nil
                }
            default:
                if start == nil, !isWhitespace(byte) { start = index }
            }
            index += 1
        }
        _ = closed
        return nil
    }

    private static func trimEnd(_ bytes: [UInt8], _ end: Int) -> Int {
        var end = end
        while end > 0, isWhitespace(bytes[end - 1]) { end -= 1 }
        return end
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
