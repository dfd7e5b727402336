import Foundation

/// `meta.json` of an app journal: its epoch id, the highest seq the worker acknowledged, and the
/// record format this release writes (absent in journals of the first release: format 1).
struct JournalMeta: Codable, Equatable {
    /// The format new records are written in (docs/journal.md, "Versions").
    static let currentFormat = 2

    var epoch: String
    var acked: UInt64
    var format: Int?

    init(epoch: String, acked: UInt64, format: Int? = JournalMeta.currentFormat) {
        self.epoch = epoch
        self.acked = acked
        self.format = format
    }

    static func newEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// What to do about a missing or inconsistent meta.json: rebuild it (docs/journal.md,
    /// "Recovering meta.json"). Starting a new epoch silently would deliver old records again.
    static func recoveryHint(app: String) -> String {
        "rebuild it with `mimic-listener --config <listener.yaml> --recover-journal \(app) --epoch <epoch>`"
            + " (the epoch from `redis-cli -n <db> HGET mimic:\(app):applied epoch`, or `new`; see docs/journal.md)"
    }

    static func isEpoch(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Reads and checks meta.json: JSON of the right shape, an epoch of 32 lowercase hex digits,
    /// a format this release reads (none = 1, or 2).
    static func read(path: String, app: String) throws -> JournalMeta {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let meta: JournalMeta
        do {
            meta = try JSONDecoder().decode(JournalMeta.self, from: data)
        } catch {
            throw JournalOpenError(
                message: "\(path): not a journal meta file (\(error)); \(recoveryHint(app: app))")
        }
        guard isEpoch(meta.epoch) else {
            throw JournalOpenError(
                message: "\(path): epoch '\(meta.epoch.prefix(64))' is not 32 hex digits; \(recoveryHint(app: app))")
        }
        if let format = meta.format, format != 1, format != currentFormat {
            throw JournalOpenError(
                message:
                    "\(path): journal format \(format) is unknown to this release (it reads 1 and 2); run the release"
                    + " that wrote it, or let its backlog drain before going back")
        }
        return meta
    }

    /// Atomic replace: temp file, fsync, rename, fsync of the directory.
    func write(path: String) throws {
        try Self.writeAtomically(try JSONEncoder().encode(self), path: path)
    }

    /// `data` to `path`, all or nothing, durable when this returns.
    static func writeAtomically(_ data: Data, path: String) throws {
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
