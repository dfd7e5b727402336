import Foundation
import Shared
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Drives a host through argv hooks (DESIGN section 8): no shell, so message contents can never
/// become shell syntax; each hook runs in its own process group, killed whole on timeout.
struct CommandDriver: Driver {
    let app: String
    let host: String
    let hooks: CommandHooks

    /// The hook's own timeout kills its process group; the grace covers reaping it.
    var actionTimeout: Duration { hooks.timeout + .seconds(2) }

    /// What a hook may print; more is a broken hook, not data worth keeping.
    static let outputLimit = 64 * 1024

    func create(_ target: DriverTarget) async throws -> String {
        let output = try await run("create", hooks.create, target)
        guard let line = output.split(whereSeparator: \.isNewline).last.map(String.init),
            Self.isEndpoint(line.trimmingCharacters(in: .whitespaces))
        else {
            throw DriverError(
                "create hook for \(target.executor) on \(host): last stdout line must be the endpoint "
                    + "host:port, got \(output.isEmpty ? "nothing" : "'\(output.suffix(80))'")")
        }
        return line.trimmingCharacters(in: .whitespaces)
    }

    func clean(_ target: DriverTarget) async throws -> String? {
        let output = try await run("clean", hooks.clean, target)
        let last = output.split(whereSeparator: \.isNewline).last.map { $0.trimmingCharacters(in: .whitespaces) }
        return last.flatMap { Self.isEndpoint($0) ? $0 : nil }
    }

    func remove(_ target: DriverTarget) async throws {
        _ = try await run("remove", hooks.remove, target)
    }

    /// The optional `inspect` hook writes its evidence into `{dir}` (the capture directory); what
    /// it prints on stdout is kept too, as `inspect.out`. `export` is the hook's own business.
    func inspect(_ target: DriverTarget, into directory: String, export: Bool) async throws -> [String] {
        guard let template = hooks.inspect else {
            throw InspectUnsupported(
                "command host \(host) has no inspect hook; add hosts[].command.inspect to keep evidence")
        }
        let output = try await run("inspect", template, target, directory: directory)
        if !output.isEmpty {
            let path = (directory as NSString).appendingPathComponent("inspect.out")
            guard FileManager.default.createFile(atPath: path, contents: Data(output.utf8)) else {
                return ["inspect hook on \(host): cannot write its output to \(path)"]
            }
        }
        return []
    }

    func list() async throws -> [String] {
        let target = DriverTarget(app: app, executor: "", variant: "", host: host)
        let output = try await run("list", hooks.list, target)
        var ids: [String] = []
        for (index, line) in output.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let id = line.trimmingCharacters(in: .whitespaces)
            if id.isEmpty { continue }
            guard ExecutorID.isValid(id) else {
                throw DriverError("list hook on \(host): line \(index + 1) is not an executor id ([a-z0-9-]{1,48})")
            }
            ids.append(id)
        }
        return ids
    }

    static func isEndpoint(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return false }
        return !text[..<colon].contains { $0.isWhitespace }
    }

    /// Placeholder values become whole argv elements, never shell text; still, a value that starts
    /// with `-` would read as an option to the hook's own tools (`docker rm -f --all`), and control
    /// characters have no business in a name. Executor ids come from the worker, app/variant/host
    /// names from the config, so a refusal here means a bad config or a bug, never a message.
    static func placeholderProblem(_ target: DriverTarget) -> String? {
        if !AppName.isValid(target.app) { return "app '\(target.app)' is not [a-z0-9-]{1,32}" }
        if !target.executor.isEmpty, !ExecutorID.isValid(target.executor) || target.executor.hasPrefix("-") {
            return "executor id '\(target.executor)' is not [a-z0-9-]{1,48} without a leading -"
        }
        // Config names may hold any printable text (each is one argv element, so `;` or `$()` stay
        // literal); only an option-like start or control characters are refused.
        for (what, value) in [("variant", target.variant), ("host", target.host)] where !value.isEmpty {
            if value.hasPrefix("-") || value.utf8.count > 128 || value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F })
            {
                return
                    "\(what) name '\(value)' must not start with - or hold control characters (at most 128 bytes) to be passed to a hook"
            }
        }
        return nil
    }

    /// `{dir}` last, so a directory whose path happens to hold `{app}` stays as it is.
    static func substitute(_ template: [String], _ target: DriverTarget, directory: String? = nil) -> [String] {
        template.map {
            let filled = $0.replacingOccurrences(of: "{app}", with: target.app)
                .replacingOccurrences(of: "{executor}", with: target.executor)
                .replacingOccurrences(of: "{variant}", with: target.variant)
                .replacingOccurrences(of: "{host}", with: target.host)
            return directory.map { filled.replacingOccurrences(of: "{dir}", with: $0) } ?? filled
        }
    }

    private func run(
        _ action: String, _ template: [String], _ target: DriverTarget, directory: String? = nil
    ) async throws -> String {
        if let problem = Self.placeholderProblem(target) {
            throw DriverError("\(action) hook on \(host) not run: \(problem)")
        }
        let argv = Self.substitute(template, target, directory: directory)
        guard let program = argv.first else { throw DriverError("\(action) hook on \(host) is empty") }
        var options = PlatformOptions()
        // Own process group, so a timeout also kills whatever the hook started.
        options.processGroupID = 0
        let pid = ProcessIDBox()
        let timeout = hooks.timeout
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            pid.killGroup()
        }
        defer { watchdog.cancel() }
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        let result: ExecutionResult<Void, StringOutput<UTF8>, StringOutput<UTF8>>
        do {
            result = try await Subprocess.run(
                executable, arguments: Arguments(Array(argv.dropFirst())), platformOptions: options,
                input: .none, output: .string(limit: Self.outputLimit), error: .string(limit: Self.outputLimit)
            ) { execution in
                pid.set(execution.processIdentifier.value)
            }
        } catch {
            throw DriverError("\(action) hook on \(host) could not run \(program): \(error)")
        }
        if pid.timedOut {
            throw DriverError(
                "\(action) hook on \(host) for \(target.executor.isEmpty ? app : target.executor) "
                    + "timed out after \(DurationText.format(timeout)) and was killed")
        }
        guard case .exited(0) = result.terminationStatus else {
            let stderr = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DriverError("\(action) hook on \(host) failed (\(result.terminationStatus)): \(stderr.suffix(400))")
        }
        return result.standardOutput
    }
}

/// The hook's pid, shared between the subprocess body and the timeout watchdog.
private final class ProcessIDBox: @unchecked Sendable {
    private let lock = NSLock()
    private var pid: pid_t = 0
    private var killed = false

    func set(_ value: pid_t) {
        lock.withLock { pid = value }
    }

    var timedOut: Bool { lock.withLock { killed } }

    func killGroup() {
        lock.withLock {
            guard pid > 0 else { return }
            killed = true
            kill(-pid, SIGKILL)
        }
    }
}
