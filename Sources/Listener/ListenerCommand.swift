import ArgumentParser
import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import Shared

@main
struct ListenerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimic-listener",
        abstract:
            "Front listener: authenticated ingress, per-app durable journal, forwarding to app workers, supervision.",
        discussion: """
            HTTP POST /v1/events and TCP NDJSON in; one journal per app under journal_dir; frames out to
            <run_dir>/<app>.sock. SIGTERM stops gracefully; SIGHUP re-reads apps_dir.
            """)

    @Option(name: .long, help: "Path of listener.yaml.")
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Rebuild the meta.json of this app's journal (missing or inconsistent) from its segments, then exit.",
            discussion: "Needs --epoch. Refused while a listener runs on the same journal_dir. See docs/journal.md.",
            valueName: "app"))
    var recoverJournal: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --recover-journal: the epoch the worker last applied (redis-cli -n <db> HGET mimic:<app>:applied epoch), or 'new' (every retained record is delivered again; effects may repeat).",
            valueName: "32 hex | new"))
    var epoch: String?

    func validate() throws {
        if recoverJournal != nil, epoch == nil {
            throw ValidationError("--recover-journal needs --epoch <32 hex digits | new>")
        }
        if recoverJournal == nil, epoch != nil { throw ValidationError("--epoch goes with --recover-journal") }
        // The app name becomes a path under journal_dir: only what an app may be called.
        if let app = recoverJournal, app.range(of: "^[a-z0-9-]{1,32}$", options: .regularExpression) == nil {
            throw ValidationError("--recover-journal: '\(app)' is not an app name ([a-z0-9-]{1,32})")
        }
    }

    mutating func run() async throws {
        if let app = recoverJournal, let epoch {
            try recover(app: app, epoch: epoch)
            return
        }
        JSONLogHandler.bootstrap(app: nil, level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "mimic-listener")
        let listenerConfig: ListenerConfig
        let apps: [AppConfig]
        do {
            listenerConfig = try ConfigLoader.loadListener(path: config)
            apps = try ConfigLoader.loadAppsDirectory(listenerConfig.appsDir)
        } catch {
            FileHandle.standardError.write(Data("mimic-listener: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let runtime: ListenerRuntime
        do {
            runtime = try await ListenerRuntime(config: listenerConfig, apps: apps, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("mimic-listener: cannot open journals: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let appsDir = listenerConfig.appsDir
        let core = RuntimeService(runtime: runtime, logger: logger) {
            try ConfigLoader.loadAppsDirectory(appsDir)
        }
        let http: any Service
        let admin: any Service
        let tcp: TCPIngress
        do {
            http = try HTTPIngress.makeApplication(
                runtime: runtime, tls: try listenerConfig.http.tls.map { try DoorTLS.configuration($0, door: "http") },
                logger: logger
            ) { _ in }
            admin = try AdminDoor.makeApplication(
                runtime: runtime,
                tls: try listenerConfig.admin.tls.map { try DoorTLS.configuration($0, door: "admin") },
                logger: logger
            ) { _ in }
            tcp = TCPIngress(
                host: listenerConfig.tcp.host, port: listenerConfig.tcp.port,
                tls: try listenerConfig.tcp.tls.map {
                    try NIOSSLContext(configuration: DoorTLS.configuration($0, door: "tcp"))
                },
                runtime: runtime, logger: logger
            ) { _ in }
        } catch {
            FileHandle.standardError.write(Data("mimic-listener: \(listenerConfig.sourceFile): \(error)\n".utf8))
            throw ExitCode(2)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: core), .init(service: http), .init(service: admin), .init(service: tcp)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("listener stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }

    /// `--recover-journal`: a one-off job under the journal_dir lock, so never under a running listener.
    private func recover(app: String, epoch: String) throws {
        let listenerConfig: ListenerConfig
        do {
            listenerConfig = try ConfigLoader.loadListener(path: config)
        } catch {
            FileHandle.standardError.write(Data("mimic-listener: \(error)\n".utf8))
            throw ExitCode(2)
        }
        do {
            let lock = try JournalDirectoryLock(journalDir: listenerConfig.journalDir)
            defer { withExtendedLifetime(lock) {} }
            let directory = listenerConfig.journalDir + "/" + app
            let result = try JournalMetaRecovery.rebuild(directory: directory, app: app, epoch: epoch)
            print(JournalMetaRecovery.describe(result, app: app, directory: directory, newEpoch: epoch == "new"))
        } catch {
            FileHandle.standardError.write(Data("mimic-listener: --recover-journal \(app): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
