import Foundation

/// `manifest.json` of one capture: what was kept of a dirty executor, when, why, and the SHA-256
/// of every file, so an analyst can show the evidence was not altered after the capture. Written
/// last, by rename, so a capture directory without it is one that did not finish.
public struct ForensicsManifest: Sendable, Equatable, Codable {
    public static let fileName = "manifest.json"
    public static let currentFormat = 1

    public enum Status: String, Sendable, Equatable, Codable {
        /// Every part the driver offers was kept.
        case complete
        /// Some parts were kept, some failed (see `problems`).
        case partial
        /// Nothing usable was kept (see `problems`); the executor was cleaned all the same.
        case failed
        /// The host's driver cannot inspect (a command host without an `inspect` hook).
        case unsupported
    }

    public struct Artifact: Sendable, Equatable, Codable {
        /// The file's name inside the capture directory.
        public var name: String
        public var bytes: Int64
        /// Lowercase hex.
        public var sha256: String

        public init(name: String, bytes: Int64, sha256: String) {
            self.name = name
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    public var format: Int
    public var app: String
    public var executor: String
    public var variant: String
    public var host: String
    /// `docker` or `command`.
    public var driver: String
    /// Unix ms when the executor went dirty; also the capture directory's name.
    public var dirtySince: Int64
    /// The message (or `timer`, `online-check`, …) that made the executor dirty.
    public var cause: String
    /// The transition's reason (`3 dissents in 60s`, …).
    public var reason: String
    /// Unix ms when the capture started and when it ended.
    public var started: Int64
    public var finished: Int64
    public var status: Status
    public var artifacts: [Artifact]
    public var problems: [String]

    public init(
        app: String, executor: String, variant: String, host: String, driver: String, dirtySince: Int64,
        cause: String, reason: String, started: Int64, finished: Int64, status: Status,
        artifacts: [Artifact] = [], problems: [String] = [], format: Int = ForensicsManifest.currentFormat
    ) {
        self.format = format
        self.app = app
        self.executor = executor
        self.variant = variant
        self.host = host
        self.driver = driver
        self.dirtySince = dirtySince
        self.cause = cause
        self.reason = reason
        self.started = started
        self.finished = finished
        self.status = status
        self.artifacts = artifacts
        self.problems = problems
    }

    enum CodingKeys: String, CodingKey {
        case format, app, executor, variant, host, driver, cause, reason, started, finished, status, artifacts,
            problems
        case dirtySince = "dirty_since"
    }

    /// Sorted keys and indented: the file is read by people as much as by tools.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    public static func decode(_ data: Data) throws -> ForensicsManifest {
        let manifest = try JSONDecoder().decode(ForensicsManifest.self, from: data)
        guard manifest.format <= currentFormat else {
            throw ForensicsError(
                "manifest format \(manifest.format) is newer than this version reads (\(currentFormat))")
        }
        return manifest
    }
}

public struct ForensicsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Where captures live: `<forensics dir>/<app>/<executor>/<dirty since>/`, one directory per time an
/// executor went dirty (ids are never reused, so executor and time name one capture for good).
public struct ForensicsLayout: Sendable, Equatable {
    public let root: String

    public init(root: String) { self.root = root }

    public func executorDirectory(app: String, executor: String) -> String {
        "\(root)/\(app)/\(executor)"
    }

    public func captureDirectory(app: String, executor: String, dirtySince: Int64) -> String {
        "\(executorDirectory(app: app, executor: executor))/\(dirtySince)"
    }

    public func manifestPath(app: String, executor: String, dirtySince: Int64) -> String {
        "\(captureDirectory(app: app, executor: executor, dirtySince: dirtySince))/\(ForensicsManifest.fileName)"
    }

    /// The captures of an executor, oldest first: the dirty times that have a directory, finished
    /// (with a manifest) or not.
    public func captures(app: String, executor: String) -> [(dirtySince: Int64, finished: Bool)] {
        let directory = executorDirectory(app: app, executor: executor)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { Int64($0) }.sorted().map { since in
            (
                since,
                FileManager.default.fileExists(atPath: manifestPath(app: app, executor: executor, dirtySince: since))
            )
        }
    }

    public func readManifest(app: String, executor: String, dirtySince: Int64) throws -> ForensicsManifest {
        let path = manifestPath(app: app, executor: executor, dirtySince: dirtySince)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ForensicsError("cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try ForensicsManifest.decode(data)
        } catch let error as ForensicsError {
            throw ForensicsError("\(path): \(error.description)")
        } catch {
            throw ForensicsError("\(path) is not a forensics manifest: \(error)")
        }
    }
}

/// One entry of `changes.json` as the Docker Engine reports it (`GET /containers/{id}/changes`).
public struct FilesystemChange: Sendable, Equatable, Codable {
    /// 0 modified, 1 added, 2 deleted.
    public var kind: Int
    public var path: String

    public init(kind: Int, path: String) {
        self.kind = kind
        self.path = path
    }

    enum CodingKeys: String, CodingKey {
        case kind = "Kind"
        case path = "Path"
    }

    /// `A /tmp/x` as `docker diff` prints it.
    public var line: String {
        let letter =
            switch kind {
            case 0: "C"
            case 1: "A"
            case 2: "D"
            default: "?"
            }
        return "\(letter) \(path)"
    }

    /// The engine answers `null` for a container without changes.
    public static func decodeList(_ data: Data) throws -> [FilesystemChange] {
        try JSONDecoder().decode([FilesystemChange]?.self, from: data) ?? []
    }
}
