/// A failure the operator sees as one line on stderr, with DESIGN section 9's exit code:
/// 1 when something at run time did not work (listener unreachable, refused, socket stale),
/// 2 when the invocation or a config file is wrong.
struct CtlFailure: Error, CustomStringConvertible {
    enum Kind {
        case runtime
        case usage
    }

    var kind: Kind
    var message: String

    static func runtime(_ message: String) -> CtlFailure { CtlFailure(kind: .runtime, message: message) }
    static func usage(_ message: String) -> CtlFailure { CtlFailure(kind: .usage, message: message) }

    var exitCode: Int32 { kind == .runtime ? 1 : 2 }
    var description: String { message }
}
