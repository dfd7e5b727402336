import Foundation
import Shared

/// Reads an app's worker log (`WorkerLogFile`) for the admin door: the last lines, or what follows
/// an offset. Bounded to `WorkerLogPage.maxBytes` per answer, and only whole lines, so a follower
/// that passes `end` back never sees a line cut in two.
enum WorkerLogReader {
    enum Position {
        case last(Int)
        case after(Int64, file: String?)
    }

    static func read(app: String, path: String, at position: Position) -> WorkerLogPage {
        let current = Opened(path: path)
        switch position {
        case .last(let count):
            return tail(app: app, path: path, current, count: count)
        case .after(let offset, let file):
            if let file, file != current.id {
                // Rotated since: the rest of the previous file first, then the new one from 0.
                let previous = Opened(path: path + ".1")
                if previous.id == file, offset < previous.size {
                    return forward(app: app, path: path, previous, from: offset)
                }
                return forward(app: app, path: path, current, from: 0)
            }
            return forward(app: app, path: path, current, from: offset <= current.size ? offset : 0)
        }
    }

    private static func tail(app: String, path: String, _ file: Opened, count: Int) -> WorkerLogPage {
        let start = max(0, file.size - Int64(WorkerLogPage.maxBytes))
        let (bytes, _) = file.bytes(from: start, upTo: file.size)
        var lines = wholeLines(bytes).lines
        // Reading from the middle of the file: the first line is likely cut.
        if start > 0, !lines.isEmpty { lines.removeFirst() }
        let end = start + Int64(wholeLines(bytes).consumed)
        return WorkerLogPage(app: app, path: path, file: file.id, end: end, lines: Array(lines.suffix(count)))
    }

    private static func forward(app: String, path: String, _ file: Opened, from offset: Int64) -> WorkerLogPage {
        let limit = min(file.size, offset + Int64(WorkerLogPage.maxBytes))
        let (bytes, _) = file.bytes(from: offset, upTo: limit)
        var (lines, consumed) = wholeLines(bytes)
        // A single line longer than the page: hand it over cut, rather than never moving on.
        if consumed == 0, bytes.count == WorkerLogPage.maxBytes {
            lines = [String(decoding: bytes, as: UTF8.self)]
            consumed = bytes.count
        }
        return WorkerLogPage(
            app: app, path: path, file: file.id, end: offset + Int64(consumed),
            lines: Array(lines.prefix(WorkerLogPage.maxLines)))
    }

    private static func wholeLines(_ bytes: [UInt8]) -> (lines: [String], consumed: Int) {
        guard let last = bytes.lastIndex(of: 0x0A) else { return ([], 0) }
        let lines = bytes[..<last].split(separator: 0x0A, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        return (lines, last + 1)
    }

    /// A file as it is now: its inode and size, and its bytes on demand.
    private struct Opened {
        let path: String
        let id: String
        let size: Int64

        init(path: String) {
            self.path = path
            var info = stat()
            if stat(path, &info) == 0 {
                id = "\(info.st_dev)-\(info.st_ino)"
                size = Int64(info.st_size)
            } else {
                id = "none"
                size = 0
            }
        }

        func bytes(from offset: Int64, upTo end: Int64) -> ([UInt8], Int) {
            guard end > offset, let handle = FileHandle(forReadingAtPath: path) else { return ([], 0) }
            defer { try? handle.close() }
            do {
                try handle.seek(toOffset: UInt64(offset))
                let data = try handle.read(upToCount: Int(end - offset)) ?? Data()
                return (Array(data), data.count)
            } catch {
                return ([], 0)
            }
        }
    }
}
