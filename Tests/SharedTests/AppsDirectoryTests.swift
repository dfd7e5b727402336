import Foundation
import TestSupport
import Testing

@testable import Shared

@Suite struct AppsDirectoryTests {
    private func write(_ text: String, to dir: URL, _ name: String) throws {
        try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    private func app(_ name: String, db: Int) -> String {
        ConfigFixtures.minimalApp
            .replacingOccurrences(of: "app: blog", with: "app: \(name)")
            .replacingOccurrences(of: "db: 2", with: "db: \(db)")
    }

    @Test func loadsEveryAppSortedAndSkipsOtherFiles() throws {
        let dir = try TempDirectory.make(prefix: "apps-ok")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(app("shop", db: 1), to: dir, "shop.yaml")
        try write(app("blog", db: 2), to: dir, "blog.yaml")
        try write("not: yaml: here", to: dir, "README.md")
        try write("junk", to: dir, ".shop.yaml.swp")
        let apps = try ConfigLoader.loadAppsDirectory(dir.path)
        #expect(apps.map(\.app) == ["blog", "shop"])
        #expect(apps[1].sourceFile == dir.path + "/shop.yaml")
    }

    @Test func nameMismatchAndRedisClashAreReportedWithFileErrors() throws {
        let dir = try TempDirectory.make(prefix: "apps-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(app("blog", db: 3), to: dir, "blog.yaml")
        try write(app("shop", db: 3), to: dir, "shop.yaml")
        try write(app("webshop", db: 4), to: dir, "store.yaml")
        try write(app("wiki", db: 16), to: dir, "wiki.yaml")
        let path = dir.path
        #expect(throws: ConfigErrors.self) { try ConfigLoader.loadAppsDirectory(path) }
        do {
            _ = try ConfigLoader.loadAppsDirectory(path)
        } catch {
            #expect(
                error.issues.map(\.description) == [
                    "\(path)/store.yaml:1:6: app: does not match the file name (expected store)",
                    "\(path)/wiki.yaml:2:14: redis.db: must be between 0 and 15",
                    "\(path)/shop.yaml:2:14: redis.db: Redis 127.0.0.1:6379 db 3 is already used by app blog (\(path)/blog.yaml)",
                ])
        }
    }

    @Test func missingDirectory() {
        do {
            _ = try ConfigLoader.loadAppsDirectory("/nonexistent/apps.d")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent/apps.d: cannot read directory")
        }
    }
}
