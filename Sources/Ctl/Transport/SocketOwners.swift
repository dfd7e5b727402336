import Foundation

/// Who listens on a Unix socket path, from the kernel rather than from the worker's own word:
/// `/proc/net/unix` maps the path to a listening socket inode, `/proc/<pid>/fd/*` maps the inode to
/// the process holding it (what `ss -xlp` shows). Processes of other users are invisible without
/// root, so callers fall back to the pid the worker reports.
enum SocketOwners {
    /// `__SO_ACCEPTCON` in the Flags column: the socket is listening.
    private static let acceptFlag = 0x10000

    /// Inodes of the listening sockets bound to each path.
    static func listeningInodes() -> [String: [String]] {
        // Read to the end: String(contentsOfFile:) stops after the first 4 KB of a /proc file, and
        // with a Docker engine's sockets the table is longer, so listeners further down went unseen.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/unix") else { return [:] }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return [:] }
        let table = String(decoding: data, as: UTF8.self)
        var result: [String: [String]] = [:]
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 8, let flags = Int(fields[3], radix: 16), flags & acceptFlag != 0 else { continue }
            result[String(fields[7...].joined(separator: " ")), default: []].append(String(fields[6]))
        }
        return result
    }

    /// The pid listening on each of `paths` that has a visible owner. A worker in a container binds
    /// the path it sees there (`/run/mimic/shop.sock`), which /proc/net/unix lists as such, while the
    /// host reaches the same file under the volume's mountpoint: a socket bound to another path
    /// with the same file name is the owner when that path, inside its owner's root
    /// (`/proc/<pid>/root`), is this very file.
    static func owners(of paths: [String]) -> [String: Int] {
        let listening = listeningInodes()
        var candidates: [String: [(bound: String, inode: String)]] = [:]
        for path in paths {
            let name = "/" + URL(fileURLWithPath: path).lastPathComponent
            candidates[path] = listening.flatMap { bound, inodes in
                bound == path || bound.hasSuffix(name) ? inodes.map { (bound: bound, inode: $0) } : []
            }
        }
        let holders = allPIDs(holding: Set(candidates.values.flatMap { $0.map(\.inode) }))
        var result: [String: Int] = [:]
        for (path, sockets) in candidates {
            let exact = sockets.lazy.filter { $0.bound == path }.compactMap { holders[$0.inode]?.first }.first
            // Every holder is tried: processes of other mount namespaces may hold the socket too.
            result[path] =
                exact
                ?? sockets.lazy.flatMap { socket in
                    (holders[socket.inode] ?? []).filter { sameFile("/proc/\($0)/root\(socket.bound)", path) }
                }.first
        }
        return result
    }

    private static func sameFile(_ one: String, _ other: String) -> Bool {
        var first = stat()
        var second = stat()
        guard stat(one, &first) == 0, stat(other, &second) == 0 else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    /// Every pid holding each of these socket inodes open, lowest first.
    static func allPIDs(holding inodes: Set<String>) -> [String: [Int]] {
        guard !inodes.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
            return [:]
        }
        var owners: [String: [Int]] = [:]
        for entry in entries.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
            guard let pid = Int(entry),
                let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(entry)/fd")
            else { continue }
            for fd in fds {
                guard
                    let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/fd/\(fd)"),
                    target.hasPrefix("socket:[")
                else { continue }
                let inode = String(target.dropFirst("socket:[".count).dropLast())
                if inodes.contains(inode), owners[inode]?.last != pid { owners[inode, default: []].append(pid) }
            }
        }
        return owners
    }
}
