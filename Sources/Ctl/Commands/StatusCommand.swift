import ArgumentParser
import Foundation
import Shared

/// `mimicctl status`: the fleet at a glance from the listener (`GET /v1/apps`).
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show every app: its owner instance, worker up/down and pid, journal backlog, delivered/acknowledged seq, message rates."
    )

    @OptionGroup var config: ConfigOption
    @OptionGroup var listener: ListenerOptions
    @OptionGroup var format: FormatOption

    func run() async throws {
        let api = ListenerAPI(endpoint: try listener.adminURL(config))
        let (raw, apps) = try api.apps(token: try listener.optionalToken(config))
        if format.json { return try Output.printJSON(raw) }
        guard !apps.isEmpty else { return print("no apps (the listener's apps_dir is empty)") }
        let rows: [[String]] = apps.map(cells)
        print(
            Output.table(
                [
                    "APP", "OWNER", "WORKER", "STATE", "PID", "RESTARTS", "BACKLOG", "BYTES", "DELIVERED/ACKED",
                    "IN/ACK PER S",
                ],
                rows))
    }

    private func cells(_ app: AppStatus) -> [String] {
        let up: String = app.worker.up ? "up" : "down"
        let pid: String = app.worker.pid.map { String($0) } ?? "-"
        let restarts: String =
            ["unsupervised", "remote"].contains(app.worker.state) ? "-" : String(app.worker.restarts)
        let seqs = "\(app.lastDeliveredSeq)/\(app.lastAckedSeq)"
        let rates = String(format: "%.1f/%.1f", app.rates.acceptedPerSecond, app.rates.ackedPerSecond)
        return [
            app.app, app.owner ?? "-", up, app.worker.state, pid, restarts, String(app.journal.backlogMessages),
            byteCount(app.journal.backlogBytes), seqs, rates,
        ]
    }

    private func byteCount(_ bytes: Int) -> String {
        switch bytes {
        case ..<1024: "\(bytes)B"
        case ..<(1 << 20): String(format: "%.1fK", Double(bytes) / 1024)
        case ..<(1 << 30): String(format: "%.1fM", Double(bytes) / Double(1 << 20))
        default: String(format: "%.1fG", Double(bytes) / Double(1 << 30))
        }
    }
}
