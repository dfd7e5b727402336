import Foundation

/// `<run_dir>/<app>.attempt`: the `FrameAttempts.Record` of the batch being decided, as one line
/// `attempt1 <epoch> <from> <to> <deaths> <phase>`. Rewritten in place (one `pwrite` of a padded
/// line, no fsync): it must survive the worker process, not the machine, and it costs two small
/// writes per batch, no encoder.
final class AttemptFile: @unchecked Sendable {
    let path: String
    private let fd: Int32
    /// Longer records cannot occur (the epoch is 32 hex digits); padding keeps every write the
    /// same size, so a shorter record never leaves the tail of a longer one behind.
    private static let recordBytes = 256

    init?(path: String) {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return nil }
    }

    deinit { close(fd) }

    /// The record the previous process left; nil when none or unreadable (then no frame is
    /// suspected, which only delays a dead letter).
    func read() -> FrameAttempts.Record? {
        var buffer = [UInt8](repeating: 0, count: Self.recordBytes)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let line = String(decoding: buffer.prefix(count).prefix { $0 != 0x0A }, as: UTF8.self)
        let words = line.split(separator: " ")
        guard words.count == 6, words[0] == "attempt1", let from = UInt64(words[2]), let to = UInt64(words[3]),
            let deaths = Int(words[4]), let phase = FrameAttempts.Record.Phase(rawValue: String(words[5]))
        else { return nil }
        return FrameAttempts.Record(epoch: String(words[1]), from: from, to: to, deaths: deaths, phase: phase)
    }

    /// False when the write failed (the caller logs it; deciding goes on).
    @discardableResult
    func write(_ record: FrameAttempts.Record) -> Bool {
        let line = "attempt1 \(record.epoch) \(record.from) \(record.to) \(record.deaths) \(record.phase.rawValue)\n"
        var bytes = Array(line.utf8)
        // An epoch is one word of hex from our listener; anything else would not read back.
        // By bytes: Foundation's `contains` of a String took an NSString search on every batch.
        guard bytes.count <= Self.recordBytes, !record.epoch.utf8.contains(where: { $0 == 0x20 || $0 == 0x0A }) else {
            return false
        }
        bytes += [UInt8](repeating: 0x20, count: Self.recordBytes - bytes.count)
        return pwrite(fd, bytes, bytes.count, 0) == bytes.count
    }
}
