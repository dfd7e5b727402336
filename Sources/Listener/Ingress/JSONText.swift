import Shared

/// Small JSON writing helpers for answers on the hot path.
enum JSONText {
    static func quoted(_ text: String) -> String { JSONString.quoted(text) }

    static func ok(id: String) -> String { "{\"ok\":\(quoted(id))}\n" }

    static func error(_ message: String, id: String?, code: Int) -> String {
        "{\"error\":\(quoted(message)),\"id\":\(id.map(quoted) ?? "null"),\"code\":\(code)}\n"
    }
}
