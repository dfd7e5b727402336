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

    /// Where the socket is bound first: a name no client looks for, in the same directory so that
    /// a hard link can publish it. Bound straight at `path`, the file would show the process
    /// umask's mode until `chmod`, and a client could connect in that window.
    var stagingPath: String {
        let directory = (path as NSString).deletingLastPathComponent
        return (directory as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).new")
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
        // sun_path holds 107 bytes and a NUL; the staging name is the longer of the two.
        guard stagingPath.utf8.count <= 107 else {
            throw .cannotPrepare(
                "socket path \(path) is too long: its staging name \(stagingPath) must fit in 107 bytes; "
                    + "use a shorter run_dir")
        }
        try removeIfStale(stagingPath)
        try removeIfStale(path)
    }

    private func removeIfStale(_ file: String) throws(Problem) {
        guard FileManager.default.fileExists(atPath: file) else { return }
        if Self.accepts(file) { throw .ownedByLiveProcess(file) }
        guard unlink(file) == 0 else {
            throw .cannotPrepare("cannot remove stale socket \(file): \(String(cString: strerror(errno)))")
        }
    }

    /// Gives the socket bound at `stagingPath` its mode, then makes it appear at `path` in one
    /// step. `link` refuses an existing name, so a live socket that appeared since `prepare` is
    /// never replaced.
    func publishStaged() throws(Problem) {
        defer { unlink(stagingPath) }
        guard chmod(stagingPath, 0o660) == 0 else {
            throw .cannotPrepare("cannot set mode 0660 on \(stagingPath): \(String(cString: strerror(errno)))")
        }
        guard link(stagingPath, path) == 0 else {
            let reason = errno
            if reason == EEXIST { throw .ownedByLiveProcess(path) }
            throw .cannotPrepare("cannot publish socket \(path): \(String(cString: strerror(reason)))")
        }
    }

    /// True when something accepts connections on the socket file at `path`.
    static func accepts(_ path: String) -> Bool {
        guard let address = try? PosixSocket.unixAddress(path) else { return false }
        return PosixSocket.accepts(address)
    }
}
