import NIOCore

/// A journaled record the worker has not acknowledged yet, as both journal backends keep it in
/// memory for forwarding (seqs are implied by the position after the acknowledged seq).
struct UnacknowledgedRecord: Sendable {
    var at: Int64?
    var envelope: [UInt8]
    var size: Int
    /// Part of a multi-app append another journal could not take: forwarded as a void gap.
    var voided = false
}

extension CircularBuffer<UnacknowledgedRecord> {
    /// The records from `seq` on (or from the first unacknowledged one) through `limit`, at most
    /// `maxCount` of them, stopping once `maxBytes` of envelopes are reached; the buffer holds
    /// the seqs `ackedSeq + 1` onwards.
    func forwardRecords(
        from seq: UInt64, ackedSeq: UInt64, through limit: UInt64, maxCount: Int, maxBytes: Int
    ) -> [ForwardRecord] {
        let first = Swift.max(seq, ackedSeq + 1)
        guard first <= limit else { return [] }
        var result: [ForwardRecord] = []
        var taken = 0
        var current = first
        var index = self.index(startIndex, offsetBy: Int(first - ackedSeq - 1))
        while current <= limit, result.count < maxCount, taken < maxBytes {
            let record = self[index]
            result.append(ForwardRecord(seq: current, at: record.at, envelope: record.envelope, voided: record.voided))
            taken += record.envelope.count
            current += 1
            index = self.index(after: index)
        }
        return result
    }
}
