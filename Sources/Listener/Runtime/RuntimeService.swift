import Logging
import ServiceLifecycle
import Shared
import UnixSignals

/// Runs the runtime inside the service group: starts links and workers, samples rates and trends, re-reads
/// apps_dir on SIGHUP, and on graceful shutdown stops workers and closes journals (it is listed
/// first, so it stops last, after the ingress servers).
struct RuntimeService: Service {
    let runtime: ListenerRuntime
    let logger: Logger
    let loadApps: @Sendable () throws -> [AppConfig]

    func run() async throws {
        await runtime.start()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    do {
                        let apps = try loadApps()
                        await runtime.reload(apps: apps)
                    } catch {
                        logger.error(
                            "SIGHUP: apps_dir not reloaded; fix it and send SIGHUP again",
                            metadata: ["error": "\(error)"])
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    runtime.sampleRates()
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    await runtime.trends.sample(runtime)
                    try? await Task.sleep(for: runtime.trends.interval)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    await runtime.refreshEndpointOwners()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await runtime.shutdown()
        logger.info("listener stopped")
    }
}
