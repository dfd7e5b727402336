import ArgumentParser
import Foundation
import Shared

/// `mimicctl logs <app> [--follow]` (issue 18 item 4): the app's worker log as the supervising
/// listener keeps it, through the admin door (`GET /v1/apps/{app}/log`), so it works from another
/// machine too; as `supervisorctl tail` does.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract:
            "Print one app's worker log lines (its stderr, kept by the supervising listener); --follow waits for more.",
        discussion: "The listener keeps <journal_dir>/logs/<app>.log, rotated to <app>.log.1 at 8 MiB.")

    @Argument(help: "The app.")
    var app: String

    @Flag(name: .shortAndLong, help: "Keep printing new lines as the worker writes them (Ctrl-C stops).")
    var follow = false

    @Option(name: .shortAndLong, help: "How many of the last lines to print first (1...10000).")
    var lines: Int = 50

    @OptionGroup var config: ConfigOption
    @OptionGroup var listener: ListenerOptions

    /// How often `--follow` asks for more.
    private static let poll = Duration.milliseconds(500)

    func validate() throws {
        guard AppName.isValid(app) else { throw ValidationError("'\(app)' is not a valid app name ([a-z0-9-]{1,32})") }
        guard (1...WorkerLogPage.maxLines).contains(lines) else {
            throw ValidationError("--lines must be 1...\(WorkerLogPage.maxLines)")
        }
    }

    func run() async throws {
        let api = ListenerAPI(endpoint: try listener.adminURL(config))
        let token = try listener.optionalToken(config, app: app)
        var page = try api.log(app: app, lines: lines, after: nil, token: token)
        show(page)
        while follow {
            try await Task.sleep(for: Self.poll)
            page = try api.log(app: app, lines: lines, after: (page.end, page.file), token: token)
            show(page)
        }
    }

    private func show(_ page: WorkerLogPage) {
        guard !page.lines.isEmpty else { return }
        print(page.lines.joined(separator: "\n"))
        // A follower piped into grep or a file sees each page as it comes.
        fflush(nil)
    }
}
