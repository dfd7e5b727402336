import Foundation
import Testing

@testable import Shared

/// Issue 19 item 5: the `forensics` keys, the `inspect` hook's placeholders, the manifest codec and
/// the capture directory layout that the worker writes and mimicctl reads.
@Suite struct ForensicsConfigTests {
    static let minimal = ConfigFixtures.minimalApp

    func issues(_ text: String) -> [String] {
        do throws(ConfigErrors) {
            _ = try ConfigLoader.loadApp(text: text, file: "/cfg/apps.d/blog.yaml")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func defaultsKeepEvidenceUnderTheRunDirectory() throws {
        let config = try ConfigLoader.loadApp(text: Self.minimal, file: "/cfg/apps.d/blog.yaml")
        #expect(config.forensics == ForensicsSettings(dir: nil, export: false, timeout: .seconds(120)))
        #expect(config.forensicsDir == "/cfg/apps.d/run/forensics")
        var moved = config
        moved.runDir = "/srv/run"
        #expect(moved.forensicsDir == "/srv/run/forensics", "--run-dir moves the default with it")
    }

    @Test func givenKeysAreReadAndTheDirectoryResolvedAgainstTheFile() throws {
        let config = try ConfigLoader.loadApp(
            text: Self.minimal + "\nforensics: { dir: ./evidence, export: true, timeout: 5m }\n",
            file: "/cfg/apps.d/blog.yaml")
        #expect(
            config.forensics == ForensicsSettings(dir: "/cfg/apps.d/evidence", export: true, timeout: .seconds(300)))
        #expect(config.forensicsDir == "/cfg/apps.d/evidence")
    }

    @Test func wrongValuesAreNamedWithTheirPath() {
        #expect(
            issues(Self.minimal + "\nforensics: { export: yes }\n") == [
                "/cfg/apps.d/blog.yaml:8:22: forensics.export: expected true or false"
            ])
        #expect(
            issues(Self.minimal + "\nforensics: { timeout: 0 }\n") == [
                "/cfg/apps.d/blog.yaml:8:23: forensics.timeout: must be greater than 0"
            ])
        #expect(
            issues(Self.minimal + "\nforensics: { dir: \"\" }\n") == [
                "/cfg/apps.d/blog.yaml:8:19: forensics.dir: must not be empty"
            ])
        #expect(
            issues(Self.minimal + "\nforensics: { path: /x }\n") == [
                "/cfg/apps.d/blog.yaml:8:14: forensics.path: unknown key (expected one of: dir, export, timeout)"
            ])
    }

    @Test func theInspectHookAloneMayNameTheCaptureDirectory() throws {
        let inspect = Self.minimal.replacingOccurrences(
            of: "list: [l] }", with: "list: [l], inspect: [i, \"{executor}\", \"{dir}\"] }")
        let config = try ConfigLoader.loadApp(text: inspect, file: "/cfg/apps.d/blog.yaml")
        #expect(config.hosts[0].command?.inspect == ["i", "{executor}", "{dir}"])

        let create = Self.minimal.replacingOccurrences(of: "create: [c]", with: "create: [c, \"{dir}\"]")
        #expect(
            issues(create).first?.hasSuffix(
                "hosts[0].command.create[1]: unknown placeholder {dir} (expected {app}, {executor}, {variant} or {host})"
            )
                == true, "\(issues(create))")
        let unknown = Self.minimal.replacingOccurrences(
            of: "list: [l] }", with: "list: [l], inspect: [i, \"{path}\"] }")
        #expect(
            issues(unknown).first?.hasSuffix(
                "unknown placeholder {path} (expected {app}, {executor}, {variant}, {host} or {dir})") == true,
            "\(issues(unknown))")
    }
}

@Suite struct ForensicsManifestTests {
    static let manifest = ForensicsManifest(
        app: "shop", executor: "e3", variant: "alpha", host: "node1", driver: "docker", dirtySince: 1_795_948_383_000,
        cause: "dissent-3", reason: "3 dissents in 60s", started: 1_795_948_383_100, finished: 1_795_948_383_900,
        status: .partial,
        artifacts: [.init(name: "changes.json", bytes: 42, sha256: String(repeating: "ab", count: 32))],
        problems: ["docker on host node1: top of e3 failed with HTTP 409: container is not running"])

    @Test func roundTripsWithSnakeCaseKeysInOrder() throws {
        let data = try Self.manifest.encoded()
        #expect(try ForensicsManifest.decode(data) == Self.manifest)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""dirty_since" : 1795948383000"#))
        #expect(text.contains(#""status" : "partial""#))
        let keys = ["app", "artifacts", "cause", "dirty_since", "driver", "executor", "finished", "format"]
        let positions = keys.map { text.range(of: "\"\($0)\"")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil } && positions == positions.sorted { $0! < $1! }, "sorted keys")
        #expect(text.hasSuffix("}\n"))
    }

    @Test func aNewerFormatOrAnotherFileIsRefusedByName() throws {
        var newer = Self.manifest
        newer.format = ForensicsManifest.currentFormat + 1
        #expect(throws: ForensicsError.self) { try ForensicsManifest.decode(try newer.encoded()) }
        #expect(throws: (any Error).self) { try ForensicsManifest.decode(Data(#"{"app":"shop"}"#.utf8)) }
    }

    @Test func theLayoutListsCapturesOldestFirstAndTellsUnfinishedOnes() throws {
        let root = NSTemporaryDirectory() + "mimic-forensics-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = ForensicsLayout(root: root)
        #expect(layout.captures(app: "shop", executor: "e3").isEmpty)
        for since: Int64 in [200, 100, 30] {
            try FileManager.default.createDirectory(
                atPath: layout.captureDirectory(app: "shop", executor: "e3", dirtySince: since),
                withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(
            atPath: layout.executorDirectory(app: "shop", executor: "e3") + "/not-a-capture",
            withIntermediateDirectories: true)
        var manifest = Self.manifest
        manifest.dirtySince = 100
        try manifest.encoded().write(
            to: URL(fileURLWithPath: layout.manifestPath(app: "shop", executor: "e3", dirtySince: 100)))
        let captures = layout.captures(app: "shop", executor: "e3")
        #expect(captures.map(\.dirtySince) == [30, 100, 200])
        #expect(captures.map(\.finished) == [false, true, false])
        #expect(try layout.readManifest(app: "shop", executor: "e3", dirtySince: 100) == manifest)
        #expect(throws: ForensicsError.self) { try layout.readManifest(app: "shop", executor: "e3", dirtySince: 30) }
        #expect(
            layout.manifestPath(app: "shop", executor: "e3", dirtySince: 100) == "\(root)/shop/e3/100/manifest.json")
    }

    @Test func engineChangesDecodeAsDockerDiffPrintsThem() throws {
        let data = Data(
            #"[{"Path":"/tmp","Kind":0},{"Path":"/tmp/implant.sh","Kind":1},{"Path":"/etc/motd","Kind":2}]"#.utf8)
        #expect(try FilesystemChange.decodeList(data).map(\.line) == ["C /tmp", "A /tmp/implant.sh", "D /etc/motd"])
        #expect(try FilesystemChange.decodeList(Data("null".utf8)).isEmpty, "the engine's answer for no changes")
    }
}
