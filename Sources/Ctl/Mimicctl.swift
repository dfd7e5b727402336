import ArgumentParser
import Foundation

/// The operator CLI. Each subcommand lives in its own file and is listed here.
@main
struct Mimicctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimicctl",
        abstract: "Operate the mimic scheduler fleet.",
        discussion: "Exit status: 0 ok, 1 runtime failure, 2 usage or config error.",
        subcommands: [
            StatusCommand.self, SocketsCommand.self, WorkerControlCommand.self, SendCommand.self,
            ExecutorsCommand.self, EventsCommand.self, WhyCommand.self, LogsCommand.self, ForensicsCommand.self,
            PingCommand.self, ComposeCommand.self, KubeCommand.self, CheckConfigCommand.self,
        ]
    )

    /// Runs the parsed command with DESIGN section 9's exit codes: ArgumentParser reports usage
    /// errors as EX_USAGE (64), which operators' scripts would not expect.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CtlFailure {
            FileHandle.standardError.write(Data("mimicctl: \(failure.message)\n".utf8))
            Foundation.exit(failure.exitCode)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                if code == .success {
                    print(message)
                } else {
                    FileHandle.standardError.write(Data((message + "\n").utf8))
                }
            }
            Foundation.exit(code == .validationFailure ? ExitCode.configError.rawValue : code.rawValue)
        }
    }
}

extension ExitCode {
    /// Usage or configuration error (DESIGN section 9).
    static let configError = ExitCode(2)
}
