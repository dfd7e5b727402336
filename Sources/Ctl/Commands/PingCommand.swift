import ArgumentParser
import Foundation
import Shared

/// `mimicctl ping <app>`: exit 0 when the app's worker answers `{"op":"ping"}` on its socket. This
/// is the worker container's healthcheck, so it needs nothing but the socket directory.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Ping one app's worker over its socket (exit 0 when it answers).")

    @Argument(help: "The app whose worker to ping.")
    var app: String

    @OptionGroup var config: ConfigOption
    @OptionGroup var local: RunDirOption

    func run() async throws {
        let path = try local.resolveRunDir(config) + "/\(app).sock"
        let answer: WorkerPong
        do throws(WorkerSocketAPI.Failure) {
            answer = try WorkerSocketAPI.ask(path, .ping, as: WorkerPong.self)
        } catch {
            throw CtlFailure.runtime("app \(app): \(path): \(error)")
        }
        guard answer.pong else {
            throw CtlFailure.runtime("app \(app): \(path) answered without pong")
        }
        print("\(app): pong")
    }
}
