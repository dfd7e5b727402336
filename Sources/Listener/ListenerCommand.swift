import ArgumentParser
import Foundation
import Logging
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

    mutating func run() async throws {
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
            runtime = try ListenerRuntime(config: listenerConfig, apps: apps, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("mimic-listener: cannot open journals: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let appsDir = listenerConfig.appsDir
        let core = RuntimeService(runtime: runtime, logger: logger) {
            try ConfigLoader.loadAppsDirectory(appsDir)
        }
        let http = HTTPIngress.makeApplication(runtime: runtime, logger: logger) { _ in }
        let tcp = TCPIngress(
            host: listenerConfig.tcp.host, port: listenerConfig.tcp.port, runtime: runtime,
            logger: logger
        ) { _ in }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: core), .init(service: http), .init(service: tcp)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("listener stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
