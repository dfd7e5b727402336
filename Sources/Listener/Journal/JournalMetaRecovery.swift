import Foundation

/// `mimic-listener --recover-journal <app> --epoch <32 hex | new>` (docs/journal.md, "Recovering
/// meta.json"): rebuilds the meta.json of an app journal whose meta.json is missing or
/// inconsistent, from its segments. acked becomes the seq before the oldest retained record, so
/// nothing on disk is taken as applied:
/// - with the epoch the worker last applied (`mimic:{app}:applied`), the worker's hello decides
///   what is replayed, and what it already applied is acknowledged without being applied again;
/// - with `new`, a new epoch: the worker takes every retained record as new and applies it again.
enum JournalMetaRecovery {
    struct Result: Equatable {
        var epoch: String
        var acked: UInt64
        /// The seqs on disk, nil when the journal holds no record.
        var retained: ClosedRange<UInt64>?
        /// Where the previous meta.json was moved, when there was one.
        var replaced: String?
    }

    static func rebuild(directory: String, app: String, epoch requested: String, now: Date = Date()) throws -> Result {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw JournalOpenError(message: "\(directory): no journal of app '\(app)' here")
        }
        let epoch: String
        if requested == "new" {
            epoch = JournalMeta.newEpoch()
        } else {
            guard JournalMeta.isEpoch(requested) else {
                throw JournalOpenError(
                    message: "--epoch: expected 32 lowercase hex digits (mimic:\(app):applied's epoch) or 'new'")
            }
            epoch = requested
        }
        // The same checks as opening: a closed segment that does not read stops the recovery too.
        let files = try JournalSegment.list(in: directory)
        var recovery = SegmentRecovery(acked: 0, recentIDs: 1)
        var first: UInt64?
        var last: UInt64?
        for (index, file) in files.enumerated() {
            let scan = try JournalSegment.scan(path: file.path, firstSeq: file.firstSeq)
            _ = try recovery.add(path: file.path, firstSeq: file.firstSeq, scan: scan, isLast: index == files.count - 1)
            if first == nil { first = scan.records.first?.seq }
            if let seq = scan.records.last?.seq { last = seq }
        }
        let oldest = first ?? files.first?.firstSeq ?? 1
        let acked = oldest > 0 ? oldest - 1 : 0
        let metaPath = directory + "/meta.json"
        var replaced: String?
        if FileManager.default.fileExists(atPath: metaPath) {
            let aside = metaPath + ".replaced-\(Int(now.timeIntervalSince1970))"
            guard rename(metaPath, aside) == 0 else {
                throw JournalOpenError(message: "\(metaPath): cannot move it aside (errno \(errno))")
            }
            replaced = aside
        }
        try JournalMeta(epoch: epoch, acked: acked).write(path: metaPath)
        return Result(
            epoch: epoch, acked: acked, retained: first.flatMap { f in last.map { f...$0 } }, replaced: replaced)
    }

    /// What the operator is told.
    static func describe(_ result: Result, app: String, directory: String, newEpoch: Bool) -> String {
        var lines = ["wrote \(directory)/meta.json: epoch \(result.epoch), acked \(result.acked)"]
        if let replaced = result.replaced { lines.append("the previous meta.json is now \(replaced)") }
        let range = result.retained.map { "\($0.lowerBound)...\($0.upperBound)" } ?? "none"
        if newEpoch {
            lines.append(
                "new epoch: every retained record (seqs \(range)) is delivered to the worker again and applied"
                    + " again; effects of messages the worker had already applied may repeat")
        } else {
            lines.append(
                "retained records: seqs \(range); the worker's hello decides what is replayed (what it has"
                    + " applied is acknowledged, not applied again)")
        }
        return lines.joined(separator: "\n")
    }
}
