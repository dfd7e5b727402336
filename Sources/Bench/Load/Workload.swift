/// The message mix of issue 7: 80% consistent arbitrations, 15% health reports, 5% others (half
/// low-severity WAF alerts, half blacklist changes), spread round-robin over the apps. Arbitrations
/// and health reports name the app's real online executors, so the worker does its real work
/// (lookups, confidence bookkeeping) rather than rejecting unknown ids.
struct Workload: Sendable {
    enum Kind: String, Sendable { case mix, arbitration, health }

    var kind: Kind = .mix
    /// Per app, its online executor ids at the start of the run.
    var executors: [String: [String]]
    var apps: [String]

    /// The envelope for message `index` of stream `stream` (ids are unique per run and stream).
    func envelope(stream: String, index: Int) -> (app: String, json: String) {
        let app = apps[index % apps.count]
        let ids = executors[app] ?? ["e1", "e2", "e3"]
        let id = "\(stream)-\(index)"
        let slot = (index / apps.count) % 100
        let type: Kind = kind == .mix ? (slot < 80 ? .arbitration : slot < 95 ? .health : .mix) : kind
        let json: String
        switch type {
        case .arbitration:
            let list = ids.map { "\"\($0)\"" }.joined(separator: ",")
            json =
                #"{"id":"\#(id)","app":"\#(app)","source":"right_bracket","type":"arbitration","body":{"request_id":"r\#(index)","url":"/shop/item/\#(index % 997)","method":"GET","executors":[\#(list)],"dissenters":[]}}"#
        case .health:
            let executor = ids[index % ids.count]
            json =
                #"{"id":"\#(id)","app":"\#(app)","source":"left_bracket","type":"health","body":{"executor":"\#(executor)","status":"up","latency_ms":\#(index % 40)}}"#
        case .mix:
            if index % 2 == 0 {
                let executor = ids[index % ids.count]
                json =
                    #"{"id":"\#(id)","app":"\#(app)","source":"waf","type":"alert","body":{"executor":"\#(executor)","rule":"920350","severity":"low","url":"/q","client_ip":"192.0.2.\#(index % 200)"}}"#
            } else {
                json =
                    #"{"id":"\#(id)","app":"\#(app)","source":"admin","type":"list","body":{"list":"blacklist","op":"add","url":"/bench/\#(index % 50)/*"}}"#
            }
        }
        return (app, json)
    }

    /// `count` messages as one NDJSON byte buffer with the line boundaries and per-app counts.
    func encode(stream: String, range: Range<Int>) -> EncodedStream {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(range.count * 200)
        var ends: [Int] = []
        ends.reserveCapacity(range.count)
        var appIndex: [UInt16] = []
        appIndex.reserveCapacity(range.count)
        var perApp: [String: Int] = [:]
        for index in range {
            let (app, json) = envelope(stream: stream, index: index)
            bytes += json.utf8
            bytes.append(0x0A)
            ends.append(bytes.count)
            appIndex.append(UInt16(apps.firstIndex(of: app) ?? 0))
            perApp[app, default: 0] += 1
        }
        return EncodedStream(bytes: bytes, lineEnds: ends, appIndex: appIndex, perApp: perApp)
    }

    /// The same messages as `encode`, as JSON arrays of `batch` envelopes (HTTP bodies).
    func encodeBatches(stream: String, range: Range<Int>, batch: Int) -> (bodies: [[UInt8]], perApp: [String: Int]) {
        var bodies: [[UInt8]] = []
        var perApp: [String: Int] = [:]
        var lower = range.lowerBound
        while lower < range.upperBound {
            let upper = min(lower + batch, range.upperBound)
            var body: [UInt8] = [UInt8(ascii: "[")]
            for index in lower..<upper {
                let (app, json) = envelope(stream: stream, index: index)
                if index > lower { body.append(UInt8(ascii: ",")) }
                body += json.utf8
                perApp[app, default: 0] += 1
            }
            body.append(UInt8(ascii: "]"))
            bodies.append(body)
            lower = upper
        }
        return (bodies, perApp)
    }
}

/// Pre-encoded NDJSON: the send loop only slices bytes, so the generator costs the 2-core machine
/// as little as possible while the listener and workers run.
struct EncodedStream: Sendable {
    var bytes: [UInt8]
    var lineEnds: [Int]
    var appIndex: [UInt16]
    var perApp: [String: Int]
    var count: Int { lineEnds.count }
}
