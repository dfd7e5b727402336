import Foundation

/// Debian's `chromium` in headless mode, driven over the Chrome DevTools Protocol on
/// `--remote-debugging-pipe` (fd 3: commands in, fd 4: replies out, each message JSON ending in a
/// NUL byte), so a test loads a page once and reads its DOM as it changes. The browser and every
/// process it forks run in their own process group, killed as a whole by `quit()`.
public final class HeadlessChromium: @unchecked Sendable {
    public static let executable = "/usr/bin/chromium"

    public let pid: pid_t
    private let commands: Int32
    private let replies: Int32
    private let profile: URL
    private var nextID = 0
    private var buffer: [UInt8] = []
    private var session: String?
    private var stopped = false

    public init(windowWidth: Int = 1400, windowHeight: Int = 1100) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw TestSupportError("\(Self.executable) is missing: install Debian's chromium (`make deps` does)")
        }
        profile = try TempDirectory.make(prefix: "mimic-chromium")
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else {
            throw TestSupportError("pipe: \(String(cString: strerror(errno)))")
        }
        // Our ends must not leak into other children (pipe2 with O_CLOEXEC is not in Glibc's module).
        for fd in toBrowser + fromBrowser { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // Out of the way of 3 and 4 first, so the two dup2 calls below cannot overwrite each other.
        let childIn = fcntl(toBrowser[0], F_DUPFD_CLOEXEC, 100)
        let childOut = fcntl(fromBrowser[1], F_DUPFD_CLOEXEC, 100)
        close(toBrowser[0])
        close(fromBrowser[1])
        defer {
            close(childIn)
            close(childOut)
        }
        let log = profile.appendingPathComponent("chromium.log").path
        let arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--mute-audio",
            "--remote-debugging-pipe", "--user-data-dir=\(profile.path)",
            "--window-size=\(windowWidth),\(windowHeight)", "about:blank",
        ]
        // Through ChildProcess for its clean signal mask; fds 3 and 4 are the DevTools pipe.
        let child: pid_t
        do {
            child = try ChildProcess.launch(
                executable: Self.executable, arguments: arguments,
                newProcessGroup: true, keepFDsBelow: 5
            ) { actions in
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
                posix_spawn_file_actions_adddup2(&actions, childIn, 3)
                posix_spawn_file_actions_adddup2(&actions, childOut, 4)
            }
        } catch {
            close(toBrowser[1])
            close(fromBrowser[0])
            throw error
        }
        pid = child
        commands = toBrowser[1]
        replies = fromBrowser[0]
    }

    deinit { quit() }

    /// Opens `url` in a new tab and attaches to it; later calls act on that tab.
    public func open(_ url: String, timeout: TimeInterval = 30) throws {
        let target = try call("Target.createTarget", ["url": url], timeout: timeout)
        guard let targetID = target["targetId"] as? String else { throw TestSupportError("createTarget: \(target)") }
        let attached = try call("Target.attachToTarget", ["targetId": targetID, "flatten": true], timeout: timeout)
        guard let session = attached["sessionId"] as? String else {
            throw TestSupportError("attachToTarget: \(attached)")
        }
        self.session = session
    }

    /// The value of a JavaScript expression in the open tab (JSON-compatible values only).
    public func evaluate(_ expression: String, timeout: TimeInterval = 10) throws -> Any? {
        let reply = try call(
            "Runtime.evaluate", ["expression": expression, "returnByValue": true], timeout: timeout,
            inSession: true)
        if let exception = reply["exceptionDetails"] { throw TestSupportError("\(expression): \(exception)") }
        return (reply["result"] as? [String: Any])?["value"]
    }

    /// Polls `expression` until it is `true`; returns false when `timeout` passes first.
    public func waitUntil(_ expression: String, timeout: TimeInterval = 20) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if try evaluate(expression) as? Bool == true { return true }
            usleep(100_000)
        } while Date() < deadline
        return false
    }

    public func screenshot(to path: String) throws {
        let reply = try call("Page.captureScreenshot", ["format": "png"], timeout: 30, inSession: true)
        guard let base64 = reply["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw TestSupportError("captureScreenshot: no image")
        }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    public func log() -> String {
        (try? String(contentsOf: profile.appendingPathComponent("chromium.log"), encoding: .utf8)) ?? ""
    }

    public func quit() {
        guard !stopped else { return }
        stopped = true
        // The whole group at once: the browser has nothing to save, and its helper processes
        // would outlive a browser that got SIGTERM alone.
        Foundation.kill(-pid, SIGKILL)
        ChildProcess.waitForExit(pid)
        Foundation.close(commands)
        Foundation.close(replies)
        try? FileManager.default.removeItem(at: profile)
    }

    // MARK: The protocol

    private func call(
        _ method: String, _ params: [String: Any], timeout: TimeInterval,
        inSession: Bool = false
    ) throws -> [String: Any] {
        nextID += 1
        let id = nextID
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if inSession {
            guard let session else { throw TestSupportError("\(method): no page is open") }
            message["sessionId"] = session
        }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard count > 0 else {
                throw TestSupportError("writing to chromium: \(String(cString: strerror(errno))); log: \(log())")
            }
            written += count
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard let reply = try nextMessage(until: deadline) else {
                throw TestSupportError("chromium did not answer \(method) within \(timeout) s; log: \(log())")
            }
            // Events (no id) and answers to earlier, timed-out calls are skipped.
            guard reply["id"] as? Int == id else { continue }
            if let error = reply["error"] { throw TestSupportError("\(method): \(error)") }
            return reply["result"] as? [String: Any] ?? [:]
        }
    }

    private func nextMessage(until deadline: Date) throws -> [String: Any]? {
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let body = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                return (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var poller = pollfd(fd: replies, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(remaining, 1) * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = read(replies, &chunk, chunk.count)
            guard count > 0 else { throw TestSupportError("chromium closed its DevTools pipe; log: \(log())") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}
