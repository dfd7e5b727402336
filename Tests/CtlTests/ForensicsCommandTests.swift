import Foundation
import Shared
import TestSupport
import Testing

/// `mimicctl forensics <app> <executor>` over a forensics directory laid out as the worker writes
/// it (issue 19 item 5): the list of captures, the chosen manifest and its filesystem changes.
@Suite(.startsProcesses) struct ForensicsCommandTests {
    final class Evidence: Sendable {
        let root = NSTemporaryDirectory() + "mimic-ctl-forensics-\(UUID().uuidString.prefix(8))"
        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// A finished capture (manifest and changes.json) at `since`, or an unfinished one.
        func capture(_ since: Int64, status: ForensicsManifest.Status = .complete, finished: Bool = true) throws {
            let layout = ForensicsLayout(root: root)
            let directory = layout.captureDirectory(app: "shop", executor: "e3", dirtySince: since)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(#"[{"Path":"/tmp","Kind":0},{"Path":"/tmp/implant.sh","Kind":1}]"#.utf8).write(
                to: URL(fileURLWithPath: directory + "/changes.json"))
            guard finished else { return }
            let manifest = ForensicsManifest(
                app: "shop", executor: "e3", variant: "alpha", host: "node1", driver: "docker", dirtySince: since,
                cause: "dissent-\(since)", reason: "3 dissents in 60s", started: since + 5, finished: since + 900,
                status: status, artifacts: [.init(name: "changes.json", bytes: 64, sha256: "ab12")])
            try manifest.encoded().write(
                to: URL(fileURLWithPath: layout.manifestPath(app: "shop", executor: "e3", dirtySince: since)))
        }
    }

    @Test func printsTheCapturesAndTheNewestManifestWithItsChanges() throws {
        let evidence = Evidence()
        try evidence.capture(1_795_948_000_000, status: .partial)
        try evidence.capture(1_795_948_383_000)
        let result = try Ctl.run(["forensics", "shop", "e3", "--dir", evidence.root])
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("evidence of shop/e3 in \(evidence.root)/shop/e3:"))
        #expect(out.contains("   1795948000000  "), "the older capture listed")
        #expect(out.contains(" * 1795948383000  ") && out.contains("complete, cause dissent-1795948383000"))
        #expect(out.contains("capture 1795948383000: complete"))
        #expect(out.contains("cause        dissent-1795948383000 (3 dissents in 60s)"))
        #expect(out.contains("changes.json  64 bytes  sha256 ab12"))
        #expect(out.contains("    A /tmp/implant.sh") && out.contains("    C /tmp"))

        let older = try Ctl.run(["forensics", "shop", "e3", "--dir", evidence.root, "--capture", "1795948000000"])
        #expect(older.stdout.contains("capture 1795948000000: partial"), "\(older.stdout)")
        let json = try Ctl.run(["forensics", "shop", "e3", "--dir", evidence.root, "--json"])
        #expect(try ForensicsManifest.decode(Data(json.stdout.utf8)).dirtySince == 1_795_948_383_000)
    }

    @Test func findsTheDirectoryThroughTheAppsConfig() throws {
        let dir = NSTemporaryDirectory() + "mimic-ctl-apps-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/evidence", withIntermediateDirectories: true)
        let evidence = Evidence()
        try evidence.capture(1_000)
        try FileManager.default.moveItem(atPath: evidence.root + "/shop", toPath: dir + "/evidence/shop")
        try """
        app: shop
        redis: { db: 1 }
        replicas: { online: 1, standby: 0, min_online: 1 }
        variants: [{ name: v1 }]
        hosts: [{ name: h1, address: 127.0.0.1, driver: command, command: { create: [c], clean: [c], remove: [r], list: [l] } }]
        forensics: { dir: ./evidence }
        """.write(toFile: dir + "/shop.yaml", atomically: true, encoding: .utf8)
        let result = try Ctl.run(["forensics", "shop", "e3", "--apps-dir", dir])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("capture 1000: complete"))
    }

    @Test func whatIsMissingIsNamedWithTheRightExitCode() throws {
        let evidence = Evidence()
        let none = try Ctl.run(["forensics", "shop", "e3", "--dir", evidence.root])
        #expect(none.status == 1)
        #expect(none.stderr.contains("no evidence of executor e3 in \(evidence.root)/shop/e3"), "\(none.stderr)")

        try evidence.capture(2_000, finished: false)
        let unfinished = try Ctl.run(["forensics", "shop", "e3", "--dir", evidence.root])
        #expect(unfinished.status == 1)
        #expect(unfinished.stderr.contains("capture 2000 of executor e3 has no manifest yet"), "\(unfinished.stderr)")
        let unknown = try Ctl.run(["forensics", "shop", "e3", "--dir", evidence.root, "--capture", "7"])
        #expect(unknown.status == 1 && unknown.stderr.contains("has no capture 7"), "\(unknown.stderr)")

        let invalid = try Ctl.run(["forensics", "shop", "E3;rm", "--dir", evidence.root])
        #expect(invalid.status == 2 && invalid.stderr.contains("not a valid executor id"), "\(invalid.stderr)")
    }
}
