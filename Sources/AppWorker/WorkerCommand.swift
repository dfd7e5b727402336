import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Shared

/// `mimic-worker --config apps.d/<app>.yaml [--run-dir DIR] [--fence TOKEN]`: one app's scheduler.
@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimic-worker",
        abstract: "Schedules the executors of one app: listens on <run_dir>/<app>.sock, keeps its state in Redis.",
        discussion:
            "SIGTERM finishes the batch in hand and exits 0. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, "
            + "3 fenced (--fence: a newer owner runs this app; nothing more was committed or acknowledged). "
            + "`mimic-worker simulate-strategies --help`: the selection-strategy simulation; "
            + "`mimic-worker simulate-attacks --help`: the attacker-model simulation.")

    @Option(name: .long, help: "The app's YAML config (apps.d/<app>.yaml).")
    var config: String

    @Option(name: .customLong("run-dir"), help: "Directory of <app>.sock; overrides run_dir from the config.")
    var runDir: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Cluster mode: the app's fencing token from its owning instance, a positive integer.",
            discussion:
                "The worker claims it in mimic:<app>:meta field `fence` before it loads, and every commit "
                + "checks it; a greater stored token (a newer owner) ends the worker with exit 3. "
                + "Without it nothing checks a fence (one-machine mode).",
            valueName: "token"))
    var fence: String?

    /// The parsed `--fence`.
    var fenceToken: UInt64? { fence.flatMap { UInt64($0) } }

    func validate() throws {
        if let fence, UInt64(fence).map({ $0 == 0 }) ?? true {
            throw ValidationError("--fence: '\(fence)' is not a positive integer (the app's fencing token, 1 or more)")
        }
    }

    static func main() async {
        // The simulations share the pool code but none of the worker's options.
        if CommandLine.arguments.dropFirst().first == "simulate-strategies" {
            do {
                let simulation = try SimulateStrategiesCommand.parse(Array(CommandLine.arguments.dropFirst(2)))
                simulation.run()
                Foundation.exit(0)
            } catch {
                exitAfterUsage(error, of: SimulateStrategiesCommand.self)
            }
        }
        if CommandLine.arguments.dropFirst().first == "simulate-attacks" {
            do {
                let simulation = try SimulateAttacksCommand.parse(Array(CommandLine.arguments.dropFirst(2)))
                simulation.run()
                Foundation.exit(0)
            } catch {
                exitAfterUsage(error, of: SimulateAttacksCommand.self)
            }
        }
        do {
            // `--help` comes back as ArgumentParser's help command, not as an error.
            guard let command = try parseAsRoot() as? WorkerCommand else { throw CleanExit.helpRequest(self) }
            try await command.runWorker()
        } catch let error as ConfigErrors {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            Foundation.exit(2)
        } catch let error as WorkerFailure {
            FileHandle.standardError.write(Data("mimic-worker: \(error.message)\n".utf8))
            Foundation.exit(1)
        } catch let error as FenceLost {
            FileHandle.standardError.write(Data("mimic-worker: \(error.message)\n".utf8))
            Foundation.exit(3)
        } catch {
            exitAfterUsage(error, of: WorkerCommand.self)
        }
    }

    /// Usage errors, --help and --version: ArgumentParser words them; help is exit 0, usage exit 2.
    static func exitAfterUsage(_ error: any Error, of command: any ParsableCommand.Type) -> Never {
        if command.exitCode(for: error) == .success {
            print(command.fullMessage(for: error))
            Foundation.exit(0)
        }
        FileHandle.standardError.write(Data("\(command.fullMessage(for: error))\n".utf8))
        Foundation.exit(2)
    }

    func runWorker() async throws {
        var appConfig = try ConfigLoader.loadApp(path: config)
        if let runDir {
            appConfig.runDir = URL(fileURLWithPath: runDir).standardizedFileURL.path
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw WorkerFailure(
                "--log-level: '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        JSONLogHandler.bootstrap(app: appConfig.app, level: level)
        let logger = Logger(label: "mimic.worker")
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(
                        service: WorkerService(config: appConfig, fence: fenceToken),
                        successTerminationBehavior: .gracefullyShutdownGroup)
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

struct WorkerFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
