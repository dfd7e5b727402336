/// What one app's cluster journal (the stream `mimic:{app}:journal`, DESIGN section 11) holds on a
/// Redis server, per message id: after a master kill, the ids on the NEW master are what survived.
/// The applied seq alone cannot tell a lost message from a duplicated one when both happen in a
/// run (they cancel out); counting ids can.
struct JournalStreamCheck {
    /// Message id (the part of the key after `<source>\u{1F}`) -> how many records carry it.
    var ids: [String: Int] = [:]
    /// Message id -> the seq of its first record.
    var firstSeq: [String: Int] = [:]
    /// The newest record's seq (marker entries `<seq>-<n>`, n >= 1, are not records).
    var lastSeq = 0
    /// Marker entries that void a held part (multi-app HTTP appends; none expected from TCP).
    var voids = 0

    init(connection: RespConnection, app: String) throws {
        var start = "-"
        while true {
            let page =
                try connection.command(["XRANGE", "mimic:\(app):journal", start, "+", "COUNT", "2000"]).array ?? []
            for entry in page {
                guard let parts = entry.array, parts.count == 2, let entryID = parts[0].string else { continue }
                start = "(" + entryID
                let position = entryID.split(separator: "-")
                let fields = parts[1].array ?? []
                var named: [String: String] = [:]
                for index in stride(from: 0, to: fields.count - 1, by: 2) {
                    if let name = fields[index].string { named[name] = fields[index + 1].string }
                }
                if named["void"] != nil { voids += 1 }
                guard position.count == 2, position[1] == "0", let seq = Int(position[0]), let key = named["key"]
                else { continue }
                lastSeq = max(lastSeq, seq)
                let id = key.split(separator: "\u{1F}", maxSplits: 1).last.map(String.init) ?? key
                ids[id, default: 0] += 1
                if firstSeq[id] == nil { firstSeq[id] = seq }
            }
            if page.count < 2000 { return }
        }
    }

    /// Records beyond the first of the same id: the idempotency key let a message in twice.
    var duplicated: Int { ids.values.reduce(0) { $0 + max(0, $1 - 1) } }
}
