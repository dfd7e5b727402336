import Foundation
import NIOConcurrencyHelpers

/// One app's worker log on the listener's machine (issue 18 item 4): what the supervised worker
/// writes to stderr, kept in `<journal_dir>/logs/<app>.log` for `mimicctl logs` and the admin
/// door's `GET /v1/apps/{app}/log`. Rotated by size: past `maxBytes` the file becomes `<app>.log.1`
/// (replacing the previous one) and a new file starts, so one app keeps at most twice `maxBytes`.
///
/// Written only from the drain threads (`WorkerStderrDrain`), never from the supervisor or an
/// event loop; a write that fails (disk full) drops those bytes, it never stops the drain.
final class WorkerLogFile: Sendable {
    static let defaultMaxBytes = 8 * 1024 * 1024
    /// Under the journal directory: the listener owns it and keeps it on durable storage.
    static let directoryName = "logs"

    let path: String
    let maxBytes: Int
    private let state: NIOLockedValueBox<Open>

    private struct Open {
        var fd: Int32 = -1
        var size = 0
    }

    static func path(journalDir: String, app: String) -> String {
        (journalDir as NSString).appendingPathComponent(directoryName + "/" + app + ".log")
    }

    init(path: String, maxBytes: Int = WorkerLogFile.defaultMaxBytes) {
        self.path = path
        self.maxBytes = max(1, maxBytes)
        state = NIOLockedValueBox(Open())
    }

    deinit {
        state.withLockedValue { if $0.fd >= 0 { close($0.fd) } }
    }

    /// Appends `count` bytes at `bytes`, rotating first when they would take the file past
    /// `maxBytes`. Serialised: the drains of an old and a new worker of the same app may overlap.
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        state.withLockedValue { open in
            if open.fd < 0 { reopen(&open) }
            if open.size > 0, bytes.count > maxBytes - open.size { rotate(&open) }
            guard open.fd >= 0 else { return }
            var written = 0
            while written < bytes.count {
                let result = write(open.fd, base + written, bytes.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return
                }
                written += result
            }
            open.size += written
        }
    }

    private func reopen(_ open: inout Open) {
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o750])
        open.fd = Foundation.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        var info = stat()
        open.size = open.fd >= 0 && fstat(open.fd, &info) == 0 ? Int(info.st_size) : 0
    }

    private func rotate(_ open: inout Open) {
        if open.fd >= 0 { close(open.fd) }
        rename(path, path + ".1")
        reopen(&open)
    }
}
