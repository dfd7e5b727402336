/// `GET /v1/apps/{app}/log?lines=N` or `?after=<end>&file=<file>` (issue 18 item 4): lines of one
/// app's worker log as the listener keeps it, for `mimicctl logs` and `--follow`.
public struct WorkerLogPage: Sendable, Equatable, Codable {
    public var app: String
    /// The log's path on the listener's machine.
    public var path: String
    /// Which file `end` counts in (its inode): a follower passes it back with `after`, so a rotation
    /// in between is noticed and the rest of the rotated file is read first.
    public var file: String
    /// The byte offset after the last line returned; the next `after`.
    public var end: Int64
    /// Whole lines only, without their newline, oldest first.
    public var lines: [String]

    /// The most `lines=` may ask for, and the most bytes one answer reads.
    public static let maxLines = 10_000
    public static let maxBytes = 1 << 20

    public init(app: String, path: String, file: String, end: Int64, lines: [String]) {
        self.app = app
        self.path = path
        self.file = file
        self.end = end
        self.lines = lines
    }
}
