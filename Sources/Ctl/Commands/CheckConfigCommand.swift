import ArgumentParser
import Foundation
import Shared

/// `mimicctl check-config <dir> [--listener FILE]`: loads the configs exactly as the listener and
/// the workers will, and prints every problem, so a fleet is never started on a bad file.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check listener.yaml and every apps.d/<app>.yaml.",
        discussion: """
            With --listener, <dir> is the apps directory. Without it, if <dir>/listener.yaml exists, \
            it is checked together with the apps directory it names; otherwise <dir> is the apps directory.
            Prints every error as file:line:column: key.path: message on stderr and exits 2 if there is any.
            """
    )

    @Argument(help: "A directory holding listener.yaml, or the apps directory.")
    var dir: String

    @Option(name: .long, help: ArgumentHelp("The listener config to check.", valueName: "file"))
    var listener: String?

    func run() async throws {
        var issues: [ConfigIssue] = []
        var listenerFile = listener
        var appsDir = dir
        if listenerFile == nil {
            let candidate = dir.hasSuffix("/") ? dir + "listener.yaml" : "\(dir)/listener.yaml"
            if FileManager.default.fileExists(atPath: candidate) { listenerFile = candidate }
        }
        if let listenerFile {
            do throws(ConfigErrors) {
                let config = try ConfigLoader.loadListener(path: listenerFile)
                if listener == nil { appsDir = Self.displayPath(config.appsDir) }
            } catch {
                issues += error.issues
                // Without a valid listener config the apps directory it names is unknown.
                if listener == nil { try Self.fail(issues) }
            }
        }
        var apps: [AppConfig] = []
        do throws(ConfigErrors) {
            apps = try ConfigLoader.loadAppsDirectory(appsDir)
        } catch {
            issues += error.issues
        }
        guard issues.isEmpty else { try Self.fail(issues) }

        var summary = "ok: \(apps.count) app\(apps.count == 1 ? "" : "s")"
        if !apps.isEmpty { summary += " (\(apps.map(\.app).joined(separator: ", ")))" }
        if let listenerFile { summary += ", \(listenerFile)" }
        print(summary)
    }

    private static func fail(_ issues: [ConfigIssue]) throws -> Never {
        let text = issues.map(\.description).joined(separator: "\n") + "\n"
        FileHandle.standardError.write(Data(text.utf8))
        throw ExitCode.configError
    }

    /// The listener stores `apps_dir` absolute; messages read better relative to where the operator is.
    private static func displayPath(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let prefix = cwd.hasSuffix("/") ? cwd : cwd + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
