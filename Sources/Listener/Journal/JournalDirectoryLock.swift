import Foundation

/// The advisory lock on `journal_dir` (DESIGN section 10): `flock(LOCK_EX | LOCK_NB)` on
/// `<journal_dir>/.lock`, held as long as the process lives (the descriptor is never closed, and
/// close-on-exec keeps it out of the workers the listener starts). Two listeners appending to the
/// same journal would hand out the same seqs twice; the second one is refused instead. The file
/// holds the holder's pid, for the error message; the lock, not the pid, decides.
final class JournalDirectoryLock: Sendable {
    let path: String
    private let descriptor: Int32

    struct Held: Error, CustomStringConvertible {
        var description: String
    }

    init(journalDir: String) throws {
        try FileManager.default.createDirectory(atPath: journalDir, withIntermediateDirectories: true)
        let path = journalDir + "/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw Held(description: "\(path): cannot open the journal_dir lock (errno \(errno))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var text = [UInt8](repeating: 0, count: 32)
            let count = read(fd, &text, text.count)
            close(fd)
            let holder =
                count > 0
                ? String(decoding: text.prefix(count), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines) : ""
            guard reason == EWOULDBLOCK else {
                throw Held(description: "\(path): cannot lock journal_dir (errno \(reason))")
            }
            throw Held(
                description:
                    "journal_dir \(journalDir) is in use by another mimic-listener"
                    + (holder.isEmpty ? "" : " (pid \(holder))")
                    + "; two listeners on one journal would reuse seqs. Stop it, or give this one its own journal_dir")
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        self.path = path
        self.descriptor = fd
    }

    /// The listener's lock lives as long as its runtime, i.e. the process; tests release theirs.
    deinit { close(descriptor) }
}
