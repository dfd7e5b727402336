import Foundation

/// A pass over raw JSON bytes before decoding, for what the decoder would accept silently or
/// handle badly: duplicate keys (Foundation keeps one of them, so `{"app":"a","app":"b"}` would be
/// judged on a value the sender may not have meant: rejected with 400), nesting deeper than
/// `maxDepth` (bounded recursion in every later reader), and bytes that are not UTF-8.
public enum JSONShapeCheck {
    public static let maxDepth = 32

    /// Keys are kept as byte ranges of the input (no copy on the hot path: an envelope has a
    /// handful of keys per object, so comparing each new key with the earlier ones is cheapest).
    private enum Frame {
        case object(keys: [Range<Int>], expectingKey: Bool)
        case array
    }

    /// Nil when the bytes pass; otherwise the reason the sender sees.
    public static func problem(_ bytes: some Collection<UInt8>) -> String? {
        let bytes = Array(bytes)
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return "invalid UTF-8 in the message"
        }
        var stack: [Frame] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                var end = index + 1
                var escaped = false
                while end < bytes.count {
                    let inner = bytes[end]
                    if escaped {
                        escaped = false
                    } else if inner == UInt8(ascii: "\\") {
                        escaped = true
                    } else if inner == UInt8(ascii: "\"") {
                        break
                    }
                    end += 1
                }
                // An unterminated string is the decoder's to report.
                guard end < bytes.count else { return nil }
                if case .object(var keys, true) = stack.last {
                    let key = (index + 1)..<end
                    for earlier in keys where sameKey(bytes, earlier, key) {
                        return
                            "duplicate key \"\(String(decoding: canonicalKey(Array(bytes[key])), as: UTF8.self))\" in one object"
                    }
                    keys.append(key)
                    stack[stack.count - 1] = .object(keys: keys, expectingKey: false)
                }
                index = end + 1
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard stack.count < maxDepth else { return "JSON nested deeper than \(maxDepth) levels" }
                stack.append(byte == UInt8(ascii: "{") ? .object(keys: [], expectingKey: true) : .array)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard !stack.isEmpty else { return nil }
                stack.removeLast()
            case UInt8(ascii: ","):
                if case .object(let keys, _) = stack.last {
                    stack[stack.count - 1] = .object(keys: keys, expectingKey: true)
                }
            default:
                break
            }
            index += 1
        }
        return nil
    }

    private static func sameKey(_ bytes: [UInt8], _ left: Range<Int>, _ right: Range<Int>) -> Bool {
        let a = bytes[left]
        let b = bytes[right]
        if a.elementsEqual(b) { return true }
        // Only a key spelled with an escape can equal a differently spelled one.
        guard a.contains(UInt8(ascii: "\\")) || b.contains(UInt8(ascii: "\\")) else { return false }
        return canonicalKey(Array(a)) == canonicalKey(Array(b))
    }

    /// Keys written with escapes (`"\u0061pp"`) are compared by their decoded text.
    private static func canonicalKey(_ raw: [UInt8]) -> [UInt8] {
        guard raw.contains(UInt8(ascii: "\\")) else { return raw }
        let quoted = [UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")]
        guard let text = try? JSONDecoder().decode(String.self, from: Data(quoted)) else { return raw }
        return Array(text.utf8)
    }
}
