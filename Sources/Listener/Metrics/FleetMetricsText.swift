/// The workers' Prometheus expositions (their `{"op":"metrics"}` answers) merged into the one the
/// listener serves, so one scrape sees the fleet. Every worker exposes the same families with its
/// own `app` label; the text format allows a family's `# TYPE` (and `# HELP`) once, so each family
/// is written once with the samples of every worker under it, in the order first seen.
struct FleetMetricsText {
    private var order: [String] = []
    private var headers: [String: [String]] = [:]
    private var samples: [String: [String]] = [:]

    mutating func add(_ exposition: String) {
        var family = ""
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") || line.hasPrefix("# HELP ") {
                let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
                guard words.count >= 3 else { continue }
                family = String(words[2])
                start(family)
                let kind = words[1]
                if !(headers[family] ?? []).contains(where: { $0.split(separator: " ").dropFirst().first == kind }) {
                    headers[family, default: []].append(String(line))
                }
            } else if !line.hasPrefix("#") {
                start(family)
                samples[family, default: []].append(String(line))
            }
        }
    }

    private mutating func start(_ family: String) {
        guard headers[family] == nil else { return }
        order.append(family)
        headers[family] = []
    }

    var text: String {
        var out = ""
        for family in order {
            for line in (headers[family] ?? []) + (samples[family] ?? []) {
                out += line + "\n"
            }
        }
        return out
    }
}
