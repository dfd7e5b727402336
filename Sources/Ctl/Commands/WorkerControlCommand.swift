import ArgumentParser
import Foundation

/// `mimicctl worker start|stop|restart <app>`: asks the supervising listener to act on one app's
/// worker; the other apps are not touched.
struct WorkerControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Start, stop or restart one app's worker through the listener (admin token, supervise mode).",
        subcommands: [Start.self, Stop.self, Restart.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the app's worker.")
        @OptionGroup var target: WorkerTarget
        func run() async throws { try target.perform("start") }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the app's worker (SIGTERM, SIGKILL after 5 s); messages keep being journaled.")
        @OptionGroup var target: WorkerTarget
        func run() async throws { try target.perform("stop") }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restart the app's worker; it resumes from the last acknowledged message.")
        @OptionGroup var target: WorkerTarget
        func run() async throws { try target.perform("restart") }
    }
}

struct WorkerTarget: ParsableArguments {
    @Argument(help: "The app whose worker to act on.")
    var app: String

    @OptionGroup var config: ConfigOption
    @OptionGroup var listener: ListenerOptions
    @OptionGroup var format: FormatOption

    func perform(_ action: String) throws {
        let token = try listener.resolveAdminToken(config, app: app, for: "worker \(action)")
        let api = ListenerAPI(endpoint: try listener.adminURL(config))
        let answer = try api.worker(action, app: app, token: token)
        if format.json { return try Output.printJSON(answer) }
        let (state, pid) = ListenerAPI.workerState(answer)
        print("\(app): \(action) done; worker \(state)\(pid.map { ", pid \($0)" } ?? "")")
    }
}
