import Foundation

/// `meta.json` of an app journal: its epoch id and the highest seq the worker acknowledged.
struct JournalMeta: Codable, Equatable {
    var epoch: String
    var acked: UInt64

    static func newEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func read(path: String) throws -> JournalMeta {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try JSONDecoder().decode(JournalMeta.self, from: data)
        } catch {
            throw JournalOpenError(
                message: "\(path): not a journal meta file (\(error)); move it away to start a new epoch")
        }
    }

    /// Atomic replace: temp file, fsync, rename, fsync of the directory.
    func write(path: String) throws {
        let data = try JSONEncoder().encode(self)
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw JournalOpenError(message: "\(temp): cannot open (errno \(errno))") }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0 else {
            throw JournalOpenError(message: "\(temp): write failed (errno \(errno))")
        }
        guard rename(temp, path) == 0 else {
            throw JournalOpenError(message: "\(path): rename failed (errno \(errno))")
        }
        Self.syncDirectory((path as NSString).deletingLastPathComponent)
    }

    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
