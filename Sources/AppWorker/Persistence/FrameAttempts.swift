/// Which frames the worker died on, so a frame that kills it again and again is dead-lettered
/// instead of stopping the app (DESIGN section 10). A value: the worker writes its `Record` to the
/// attempt file before deciding a batch and again once the decisions are made, and reads it back
/// at start to find out whether, and on which frame, the previous process died while deciding.
struct FrameAttempts: Sendable, Equatable {
    /// A frame is dead-lettered once it killed the worker this many times in a row.
    static let deathLimit = 3

    /// The attempt in progress, as written to the file.
    struct Record: Sendable, Equatable {
        enum Phase: String, Sendable {
            /// Rules were running on the frames: a death here is the frames' doing.
            case deciding
            /// Decisions were made and are being committed: a death here (a kill during a Redis
            /// outage) says nothing about the frames.
            case committing
        }

        var epoch: String
        var from: UInt64
        var to: UInt64
        /// Deaths already counted against `from` before this attempt.
        var deaths: Int
        var phase: Phase
    }

    /// Frames up to `through` of `epoch` are applied one per commit, so a death names its frame;
    /// `suspect` died `deaths` times in a row.
    private(set) var epoch: String?
    private(set) var through: UInt64 = 0
    private(set) var suspect: UInt64 = 0
    private(set) var deaths = 0

    /// No earlier death: every batch is applied whole.
    init() {}

    /// What the last process left: `record` from the file, `applied` from Redis.
    init(resuming record: Record?, applied: (epoch: String, seq: UInt64)?) {
        guard let record, record.from >= 1, record.from <= record.to else { return }
        let appliedSeq = applied?.epoch == record.epoch ? applied!.seq : 0
        // The attempt was committed: the process died later, not on these frames.
        guard appliedSeq < record.to else { return }
        epoch = record.epoch
        through = record.to
        suspect = max(record.from, appliedSeq + 1)
        let diedDeciding = record.phase == .deciding
        deaths = (suspect == record.from ? record.deaths : 0) + (diedDeciding ? 1 : 0)
    }

    /// Whether `seq` of `epoch` must be applied alone (it was in the range the last process died in).
    func isCareful(epoch frameEpoch: String, seq: UInt64) -> Bool {
        epoch == frameEpoch && seq <= through
    }

    /// Whether this frame is to be dead-lettered rather than decided.
    func isDeadLetter(epoch frameEpoch: String, seq: UInt64) -> Bool {
        epoch == frameEpoch && seq == suspect && deaths >= Self.deathLimit
    }

    /// The record to write before deciding frames `from...to` of `epoch`. A frame of the careful
    /// range tried alone already has one death counted: the batch that died held it, and the
    /// frames before it in that batch have since gone through alone.
    func attempt(epoch frameEpoch: String, from: UInt64, to: UInt64) -> Record {
        let known: Int
        if epoch == frameEpoch, from == suspect {
            known = deaths
        } else {
            known = from == to && isCareful(epoch: frameEpoch, seq: from) ? 1 : 0
        }
        return Record(epoch: frameEpoch, from: from, to: to, deaths: known, phase: .deciding)
    }

    /// Careful mode ends once the range the last process died in is applied.
    mutating func applied(epoch frameEpoch: String, through seq: UInt64) {
        guard epoch == frameEpoch, seq >= through else { return }
        self = FrameAttempts()
    }
}
