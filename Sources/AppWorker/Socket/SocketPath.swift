import Foundation

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
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
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

    func restrictPermissions() {
        chmod(path, 0o660)
    }

    /// True when something accepts connections on the socket file at `path`.
    static func accepts(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }
}
