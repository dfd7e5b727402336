import ArgumentParser
import Foundation
import Shared

/// `mimicctl sockets`: every `<app>.sock` in run_dir with who owns it, whether it accepts
/// connections or is stale, and what the worker behind it reports.
struct SocketsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sockets",
        abstract: "List the app sockets in run_dir: owner pid, listening or stale, the worker's status.",
        discussion:
            "The owner pid comes from /proc/net/unix and /proc/<pid>/fd (what `ss -xlp` shows); a socket a containerized worker bound under another path (a volume) is matched through /proc/<pid>/root. Processes of other users are only visible as root, and then the pid the worker reports is shown."
    )

    @OptionGroup var config: ConfigOption
    @OptionGroup var local: RunDirOption
    @OptionGroup var format: FormatOption

    struct Entry {
        var app: String
        var path: String
        var state: String
        var ownerPID: Int?
        var status: WorkerStatus?
        var problem: String?
    }

    func run() async throws {
        let runDir = try local.resolveRunDir(config)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: runDir)
        } catch {
            throw CtlFailure.runtime(
                "run dir \(runDir) cannot be read; are the listener and workers started with this run_dir?")
        }
        let paths = names.filter { $0.hasSuffix(".sock") }.sorted().map { runDir + "/" + $0 }
        let owners = SocketOwners.owners(of: paths)
        let entries = paths.map { path in inspect(path, ownerPID: owners[path]) }
        if format.json {
            let sockets: [[String: Any]] = entries.map(Self.json)
            return try Output.printJSON(["run_dir": runDir, "sockets": sockets] as [String: Any])
        }
        guard !entries.isEmpty else { return print("no sockets in \(runDir)") }
        print(Output.table(["APP", "STATE", "PID", "WORKER"], entries.map(Self.cells)))
    }

    private static func json(_ entry: Entry) -> [String: Any] {
        var object: [String: Any] = ["app": entry.app, "path": entry.path, "state": entry.state]
        let pid: Int? = entry.ownerPID ?? entry.status?.pid
        object["owner_pid"] = pid.map { $0 as Any } ?? NSNull()
        object["status"] = entry.status.flatMap(Output.jsonObject) ?? NSNull()
        object["problem"] = entry.problem.map { $0 as Any } ?? NSNull()
        return object
    }

    private static func cells(_ entry: Entry) -> [String] {
        let pid: Int? = entry.ownerPID ?? entry.status?.pid
        let detail: String = entry.status?.summary ?? entry.problem ?? ""
        return [entry.app, entry.state, pid.map { String($0) } ?? "-", detail]
    }

    private func inspect(_ path: String, ownerPID: Int?) -> Entry {
        let app = String(URL(fileURLWithPath: path).lastPathComponent.dropLast(".sock".count))
        var entry = Entry(app: app, path: path, state: "listening", ownerPID: ownerPID)
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFSOCK {
            entry.state = "not-a-socket"
            entry.problem = "\(path) is not a socket file"
            return entry
        }
        do throws(WorkerSocketAPI.Failure) {
            entry.status = try WorkerSocketAPI.ask(path, .status, as: WorkerStatus.self)
        } catch {
            switch error {
            case .stale:
                entry.state = "stale"
                entry.problem = "connection refused: no process listens; a starting worker removes it"
            case .missing:
                entry.state = "gone"
                entry.problem = "removed while listing"
            case .failed(let reason):
                entry.state = ownerPID == nil ? "unreachable" : "unresponsive"
                entry.problem = reason
            }
        }
        return entry
    }
}
