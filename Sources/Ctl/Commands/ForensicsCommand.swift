import ArgumentParser
import Foundation
import Shared

/// `mimicctl forensics <app> <executor>`: the evidence a worker kept of an executor that went dirty
/// (issue 19 item 5), read from the forensics directory of the app's config (`forensics.dir`, by
/// default `<run_dir>/forensics`), so it works on the worker's machine whether the worker runs or not.
struct ForensicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forensics",
        abstract: "List the evidence kept of an executor that went dirty and print a capture's manifest and changes.",
        discussion: """
            Each time an executor goes dirty its worker keeps, before it is cleaned, what an analyst \
            needs (docker: the filesystem changes against the image, the processes, the logs, the \
            engine's description, optionally an export) under <forensics dir>/<app>/<executor>/<dirty since>/, \
            with manifest.json (times, cause, SHA-256 of every file). Prints the newest capture, or \
            the one --capture names. Exit 1 when the executor has no capture.
            """)

    @Argument(help: "The app.")
    var app: String

    @Argument(help: "The executor id.")
    var executor: String

    @Option(
        name: .customLong("capture"),
        help: ArgumentHelp("The capture to print, by its dirty time (unix ms, as listed).", valueName: "since"))
    var capture: Int64?

    @Option(
        name: .customLong("dir"),
        help: ArgumentHelp("The forensics directory (default: forensics.dir of the app's config).", valueName: "dir"))
    var dir: String?

    @OptionGroup var config: ConfigOption
    @OptionGroup var apps: AppsDirOption
    @OptionGroup var format: FormatOption

    /// Changes printed at most; the file has them all.
    static let changeLimit = 200

    func validate() throws {
        guard AppName.isValid(app) else { throw ValidationError("'\(app)' is not a valid app name ([a-z0-9-]{1,32})") }
        guard ExecutorID.isValid(executor) else {
            throw ValidationError("'\(executor)' is not a valid executor id ([a-z0-9-]{1,48})")
        }
    }

    func run() throws {
        let root =
            try dir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            ?? apps.loadApp(app, config).forensicsDir
        let layout = ForensicsLayout(root: root)
        let captures = layout.captures(app: app, executor: executor)
        let directory = layout.executorDirectory(app: app, executor: executor)
        guard !captures.isEmpty else {
            throw CtlFailure.runtime(
                "app \(app): no evidence of executor \(executor) in \(directory) (it never went dirty since "
                    + "forensics were kept, or the worker's forensics.dir is another directory; see --dir)")
        }
        guard let chosen = capture ?? captures.last?.dirtySince else { return }
        guard let entry = captures.first(where: { $0.dirtySince == chosen }) else {
            throw CtlFailure.runtime(
                "app \(app): executor \(executor) has no capture \(chosen) in \(directory) (have: "
                    + "\(captures.map { "\($0.dirtySince)" }.joined(separator: ", ")))")
        }
        guard entry.finished else {
            throw CtlFailure.runtime(
                "app \(app): capture \(chosen) of executor \(executor) has no manifest yet: it is under way, or "
                    + "its worker died during it (a restarted worker takes it up again)")
        }
        let manifest: ForensicsManifest
        do {
            manifest = try layout.readManifest(app: app, executor: executor, dirtySince: chosen)
        } catch {
            throw CtlFailure.runtime("app \(app): \(error)")
        }
        let captureDirectory = layout.captureDirectory(app: app, executor: executor, dirtySince: chosen)
        let changes = try? FilesystemChange.decodeList(
            Data(contentsOf: URL(fileURLWithPath: captureDirectory + "/changes.json")))
        if format.json {
            let data = try manifest.encoded()
            FileHandle.standardOutput.write(data)
            return
        }
        print("evidence of \(app)/\(executor) in \(directory):")
        for entry in captures {
            let status: String
            if !entry.finished {
                status = "unfinished"
            } else if let read = try? layout.readManifest(app: app, executor: executor, dirtySince: entry.dirtySince) {
                status = "\(read.status.rawValue), cause \(read.cause)"
            } else {
                status = "unreadable manifest"
            }
            let mark = entry.dirtySince == chosen ? "*" : " "
            print(" \(mark) \(entry.dirtySince)  \(Output.timestamp(milliseconds: entry.dirtySince))  \(status)")
        }
        print("")
        print(Self.describe(manifest, directory: captureDirectory, changes: changes))
    }

    static func describe(_ manifest: ForensicsManifest, directory: String, changes: [FilesystemChange]?) -> String {
        var lines = [
            "capture \(manifest.dirtySince): \(manifest.status.rawValue)",
            "  dirty since  \(Output.timestamp(milliseconds: manifest.dirtySince))",
            "  cause        \(manifest.cause) (\(manifest.reason))",
            "  executor     \(manifest.executor), variant \(manifest.variant), host \(manifest.host) (\(manifest.driver))",
            "  captured     \(Output.timestamp(milliseconds: manifest.started)) in \(manifest.finished - manifest.started) ms",
            "  directory    \(directory)",
            "  files",
        ]
        if manifest.artifacts.isEmpty { lines.append("    none") }
        for artifact in manifest.artifacts {
            lines.append("    \(artifact.name)  \(artifact.bytes) bytes  sha256 \(artifact.sha256)")
        }
        if !manifest.problems.isEmpty {
            lines.append("  problems")
            lines += manifest.problems.map { "    \($0)" }
        }
        if let changes {
            lines.append("  filesystem changes against the image (\(changes.count); A added, C changed, D deleted)")
            lines += changes.prefix(changeLimit).map { "    \($0.line)" }
            if changes.count > changeLimit {
                lines.append("    … \(changes.count - changeLimit) more in \(directory)/changes.json")
            }
        }
        return lines.joined(separator: "\n")
    }
}
