/// Small JSON writing helpers for answers on the hot path.
enum JSONText {
    static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func ok(id: String) -> String { "{\"ok\":\(quoted(id))}\n" }

    static func error(_ message: String, id: String?, code: Int) -> String {
        "{\"error\":\(quoted(message)),\"id\":\(id.map(quoted) ?? "null"),\"code\":\(code)}\n"
    }
}
