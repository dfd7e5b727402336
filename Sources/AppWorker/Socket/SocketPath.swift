import Foundation
import Shared

/// The app socket's file: `<run_dir>/<app>.sock`, dir 0750, socket 0660 (DESIGN section 5).
struct SocketPath: Sendable {
    let path: String

    enum Problem: Error, CustomStringConvertible {
        case ownedByLiveProcess(String)
        case cannotPrepare(String)

        var description: String {
            switch self {
            case .ownedByLiveProcess(let path):
                "\(path) is served by another live process (see `ss -xlp | grep \(path)`); stop it first"
            case .cannotPrepare(let reason): reason
            }
        }
    }

    /// Creates the run dir if needed and removes a stale socket (nobody accepts on it); refuses to
    /// touch a socket a live process still serves.
    func prepare() throws(Problem) {
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o750])
            } catch {
                throw .cannotPrepare("cannot create run dir \(directory): \(error.localizedDescription)")
            }
        }
        guard FileManager.default.fileExists(atPath: path) else { return }
        if Self.accepts(path) { throw .ownedByLiveProcess(path) }
        guard unlink(path) == 0 else {
            throw .cannotPrepare("cannot remove stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Runs `bind` with no permission for "others" in the process umask, so the socket file never
    /// grants them anything, even in the moment between the bind and `restrictPermissions`. The
    /// path stays the one clients, `ss -xlp` and `mimicctl sockets` (/proc/net/unix) know. The
    /// umask is process-wide: for that moment, files made by other threads lose only their
    /// "others" bits as well.
    func bindingPrivately<T>(_ bind: () async throws -> T) async rethrows -> T {
        let previous = umask(0o077)
        umask(previous | 0o007)
        defer { umask(previous) }
        return try await bind()
    }

    func restrictPermissions() {
        chmod(path, 0o660)
    }

    /// True when something accepts connections on the socket file at `path`.
    static func accepts(_ path: String) -> Bool {
        guard let address = try? PosixSocket.unixAddress(path) else { return false }
        return PosixSocket.accepts(address)
    }
}
