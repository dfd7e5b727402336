import Crypto
import Foundation
import Shared

/// One dirty executor to capture. `dirtySince` names the capture (its directory), so asking twice
/// for the same executor and time finds the first capture instead of making a second.
struct CaptureRequest: Sendable, Equatable {
    var executor: String
    var variant: String
    var host: String
    var dirtySince: Int64
    /// The message (or clock, check) that made the executor dirty.
    var cause: String
    var reason: String
}

/// What a capture left: the manifest, or why not even that could be written.
struct CaptureOutcome: Sendable, Equatable {
    var request: CaptureRequest
    var directory: String
    var manifestPath: String
    var manifest: ForensicsManifest?
    /// Set when no manifest was written (the directory could not be made or written).
    var error: String?

    var status: ForensicsManifest.Status { manifest?.status ?? .failed }
}

/// Captures the evidence of dirty executors through their host's driver, under
/// `<forensics dir>/<app>/<executor>/<dirty since>/` with a manifest written last (issue 19 item
/// 5). Pure I/O at the edge: the scheduling rules never see it; the actuator runs it and holds the
/// executor's clean or remove until it is over.
struct EvidenceCollector: Sendable {
    let app: String
    let layout: ForensicsLayout
    let settings: ForensicsSettings
    /// Host name to driver kind (`docker`, `command`), for the manifest.
    let driverKinds: [String: String]

    init(config: AppConfig) {
        app = config.app
        layout = ForensicsLayout(root: config.forensicsDir)
        settings = config.forensics
        driverKinds = Dictionary(config.hosts.map { ($0.name, $0.driver.rawValue) }, uniquingKeysWith: { a, _ in a })
    }

    init(app: String, root: String, settings: ForensicsSettings, driverKinds: [String: String]) {
        self.app = app
        layout = ForensicsLayout(root: root)
        self.settings = settings
        self.driverKinds = driverKinds
    }

    func isCaptured(executor: String, dirtySince: Int64) -> Bool {
        FileManager.default.fileExists(
            atPath: layout.manifestPath(app: app, executor: executor, dirtySince: dirtySince))
    }

    /// The newest finished capture of each executor that has one: its manifest's path.
    func latestManifests(of executors: [String]) -> [String: String] {
        var found: [String: String] = [:]
        for executor in executors {
            if let since = layout.captures(app: app, executor: executor).last(where: \.finished)?.dirtySince {
                found[executor] = layout.manifestPath(app: app, executor: executor, dirtySince: since)
            }
        }
        return found
    }

    func capture(_ request: CaptureRequest, driver: (any Driver)?) async -> CaptureOutcome {
        let started = Self.now()
        let directory = layout.captureDirectory(app: app, executor: request.executor, dirtySince: request.dirtySince)
        let manifestPath = layout.manifestPath(app: app, executor: request.executor, dirtySince: request.dirtySince)
        var outcome = CaptureOutcome(request: request, directory: directory, manifestPath: manifestPath)
        do {
            // The root is shared by every app's worker (by default <run_dir>/forensics), which may
            // each run as a uid of its own in one group: group-writable with the sticky bit, as
            // the run dir, so the first worker to make it does not lock the others out.
            if !FileManager.default.fileExists(atPath: layout.root) {
                try FileManager.default.createDirectory(
                    atPath: layout.root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o1770])
                chmod(layout.root, 0o1770)
            }
            // Evidence can hold secrets of the app (its files, its logs): owner and group only.
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            outcome.error =
                "cannot create \(directory): \(error.localizedDescription); check forensics.dir and its permissions"
            return outcome
        }
        let target = DriverTarget(app: app, executor: request.executor, variant: request.variant, host: request.host)
        var problems: [String] = []
        var status = ForensicsManifest.Status.complete
        var threw = false
        if let driver {
            let export = settings.export
            do {
                problems = try await withDeadline(
                    settings.timeout,
                    "capture of \(request.executor) on host \(request.host) did not finish within "
                        + "\(DurationText.format(settings.timeout)) (forensics.timeout)"
                ) {
                    try await driver.inspect(target, into: directory, export: export)
                }
            } catch let unsupported as InspectUnsupported {
                status = .unsupported
                problems = [unsupported.description]
            } catch {
                threw = true
                problems.append("\(error)")
            }
        } else {
            threw = true
            problems.append("no driver for host \(request.host) (not in the config any more?)")
        }
        let artifacts: [ForensicsManifest.Artifact]
        do {
            artifacts = try Self.artifacts(in: directory)
        } catch {
            outcome.error = "cannot read back the evidence in \(directory): \(error)"
            return outcome
        }
        if status != .unsupported {
            if threw {
                status = artifacts.isEmpty ? .failed : .partial
            } else if !problems.isEmpty {
                status = .partial
            }
        }
        let manifest = ForensicsManifest(
            app: app, executor: request.executor, variant: request.variant, host: request.host,
            driver: driverKinds[request.host] ?? "unknown", dirtySince: request.dirtySince, cause: request.cause,
            reason: request.reason, started: started, finished: Self.now(), status: status, artifacts: artifacts,
            problems: problems)
        do {
            // Written last and by rename: a manifest on disk means the capture is over.
            let temporary = directory + "/.manifest.json.tmp"
            try manifest.encoded().write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, manifestPath) == 0 else {
                throw ForensicsError("rename to \(manifestPath) failed: \(String(cString: strerror(errno)))")
            }
            outcome.manifest = manifest
        } catch {
            outcome.error = "cannot write \(manifestPath): \(error); check forensics.dir and its permissions"
        }
        return outcome
    }

    /// Every regular file of the capture directory but the manifest, by name, with its size and SHA-256.
    static func artifacts(in directory: String) throws -> [ForensicsManifest.Artifact] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var artifacts: [ForensicsManifest.Artifact] = []
        for name in names where name != ForensicsManifest.fileName && !name.hasPrefix(".manifest") {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            let (bytes, digest) = try sha256(of: path)
            artifacts.append(.init(name: name, bytes: bytes, sha256: digest))
        }
        return artifacts
    }

    /// Read in chunks: an export is the size of a filesystem.
    static func sha256(of path: String) throws -> (bytes: Int64, hex: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ForensicsError("cannot open \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            total += Int64(chunk.count)
        }
        return (total, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
