import Foundation
import Shared
import Testing

@testable import AppWorker

#if canImport(Glibc)
    import Glibc
#endif

/// Real processes: small bash hooks in a temporary directory.
@Suite(.serialized, .runsAlone)
struct CommandDriverTests {
    final class Hooks: Sendable {
        let dir: String

        init() throws {
            dir = NSTemporaryDirectory() + "mimic-hooks-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        /// Writes an executable bash script and returns its path.
        func script(_ name: String, _ body: String) throws -> String {
            let path = "\(dir)/\(name)"
            try ("#!/bin/bash\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            return path
        }

        func driver(
            create: [String] = ["/bin/true"], clean: [String] = ["/bin/true"],
            remove: [String] = ["/bin/true"], list: [String] = ["/bin/true"], inspect: [String]? = nil,
            timeout: Duration = .seconds(10)
        ) -> CommandDriver {
            CommandDriver(
                app: "shop", host: "h1",
                hooks: CommandHooks(
                    timeout: timeout, create: create, clean: clean, remove: remove, list: list, inspect: inspect))
        }
    }

    let target = DriverTarget(app: "shop", executor: "e7", variant: "v1", host: "h1")

    func message(of error: any Error) -> String {
        (error as? DriverError)?.description ?? "\(error)"
    }

    @Test func createReturnsLastStdoutLine() async throws {
        let hooks = try Hooks()
        let create = try hooks.script(
            "create.sh",
            """
            echo "pulling image for $2"
            echo "starting"
            echo "  127.0.0.1:9001  "
            """)
        let driver = hooks.driver(create: [create, "{app}", "{executor}", "{variant}", "{host}"])
        #expect(try await driver.create(target) == "127.0.0.1:9001")
    }

    @Test func nonZeroExitThrowsWithStderr() async throws {
        let hooks = try Hooks()
        let create = try hooks.script(
            "create.sh",
            """
            echo "half done"
            echo "boom: image v1 not found" >&2
            exit 3
            """)
        let driver = hooks.driver(create: [create])
        do {
            _ = try await driver.create(target)
            Issue.record("create must fail")
        } catch {
            let text = message(of: error)
            #expect(text.contains("boom: image v1 not found"), "\(text)")
            #expect(text.contains("create hook on h1 failed"), "\(text)")
        }
        let remove = try hooks.script("remove.sh", "echo 'cannot remove' >&2; exit 1")
        await #expect(throws: DriverError.self) { try await hooks.driver(remove: [remove]).remove(target) }
    }

    @Test(arguments: ["ready", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", ":8080", "bad host:80", ""])
    func createWithGarbageEndpointThrows(output: String) async throws {
        let hooks = try Hooks()
        let create = try hooks.script("create.sh", "printf '%s\\n' '\(output)'")
        do {
            let endpoint = try await hooks.driver(create: [create]).create(target)
            Issue.record("accepted '\(endpoint)'")
        } catch {
            #expect(message(of: error).contains("last stdout line must be the endpoint"), "\(error)")
        }
    }

    @Test func hangingHookIsKilledWithItsWholeProcessGroup() async throws {
        let hooks = try Hooks()
        let pidFile = "\(hooks.dir)/child.pid"
        let create = try hooks.script(
            "hang.sh",
            """
            sleep 30 &
            echo $! > '\(pidFile)'
            sleep 30
            """)
        let driver = hooks.driver(create: [create], timeout: .milliseconds(300))
        let clock = ContinuousClock()
        let started = clock.now
        do {
            _ = try await driver.create(target)
            Issue.record("a hanging hook must fail")
        } catch {
            #expect(message(of: error).contains("timed out after 300ms and was killed"), "\(error)")
        }
        let elapsed = clock.now - started
        #expect(elapsed < .seconds(3), "took \(elapsed)")
        #expect(elapsed >= .milliseconds(300))

        let text = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let child = try #require(pid_t(text))
        try await Task.sleep(for: .milliseconds(200))
        #expect(!Self.isRunning(child), "background child \(child) survived the timeout")
    }

    /// Alive and not a zombie (an orphan may wait for a reaper that the container does not run).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z" && state != "X"
    }

    @Test func listParsesIdsStrictly() async throws {
        let hooks = try Hooks()
        let good = try hooks.script("list.sh", "printf 'e1\\n  e2 \\n\\ne-33\\n'")
        #expect(try await hooks.driver(list: [good, "{app}", "{host}"]).list() == ["e1", "e2", "e-33"])
        let empty = try hooks.script("empty.sh", "exit 0")
        #expect(try await hooks.driver(list: [empty]).list() == [])
        for bad in ["E1", "e1;rm", "e 1", String(repeating: "a", count: 49)] {
            let script = try hooks.script("bad.sh", "printf 'e1\\n%s\\n' '\(bad)'")
            do {
                let ids = try await hooks.driver(list: [script]).list()
                Issue.record("accepted \(ids)")
            } catch {
                #expect(message(of: error).contains("line 2 is not an executor id"), "\(error)")
            }
        }
    }

    @Test func placeholdersAreSubstitutedPerArgumentWithoutShell() async throws {
        let hooks = try Hooks()
        let out = "\(hooks.dir)/args.txt"
        let canary = "\(hooks.dir)/canary"
        try "alive".write(toFile: canary, atomically: true, encoding: .utf8)
        let create = try hooks.script(
            "create.sh",
            """
            printf '%s\\n' "$#" "$1" "$2" "$3" "$4" "$5" > '\(out)'
            echo 127.0.0.1:8080
            """)
        let variant = "v1; rm -rf '\(canary)' $(touch '\(hooks.dir)/pwned') `id`"
        let driver = hooks.driver(create: [
            create, "{app}", "{executor}", "{variant}", "{host}", "--name=mimic-{app}-{executor}",
        ])
        let endpoint = try await driver.create(DriverTarget(app: "shop", executor: "e7", variant: variant, host: "h1"))
        #expect(endpoint == "127.0.0.1:8080")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.prefix(6) == ["5", "shop", "e7", Substring(variant), "h1", "--name=mimic-shop-e7"])
        #expect(FileManager.default.fileExists(atPath: canary))
        #expect(!FileManager.default.fileExists(atPath: "\(hooks.dir)/pwned"))
        #expect(
            CommandDriver.substitute(["{executor}{executor}", "x{host}y", "{unknown}"], target)
                == ["e7e7", "xh1y", "{unknown}"])
    }

    @Test func cleanReturnsEndpointOnlyWhenPrinted() async throws {
        let hooks = try Hooks()
        let moved = try hooks.script("clean1.sh", "echo restored; echo 10.0.0.9:81")
        let quiet = try hooks.script("clean2.sh", "echo restored")
        #expect(try await hooks.driver(clean: [moved]).clean(target) == "10.0.0.9:81")
        #expect(try await hooks.driver(clean: [quiet]).clean(target) == nil)
    }

    @Test func missingProgramThrows() async throws {
        let hooks = try Hooks()
        await #expect(throws: DriverError.self) {
            try await hooks.driver(create: ["\(hooks.dir)/does-not-exist.sh"]).create(target)
        }
    }

    /// Issue 19 item 5: the optional `inspect` hook writes its evidence into `{dir}`; its stdout is
    /// kept as `inspect.out`; without the hook the driver says it cannot inspect.
    @Test func inspectHookWritesIntoTheCaptureDirectory() async throws {
        let hooks = try Hooks()
        let capture = "\(hooks.dir)/capture"
        try FileManager.default.createDirectory(atPath: capture, withIntermediateDirectories: true)
        let inspect = try hooks.script(
            "inspect.sh",
            """
            printf '%s\\n' "$@" > "$5/args"
            echo "ps of $2"
            """)
        let driver = hooks.driver(inspect: [inspect, "{app}", "{executor}", "{variant}", "{host}", "{dir}"])
        #expect(try await driver.inspect(target, into: capture, export: false) == [])
        #expect(try String(contentsOfFile: "\(capture)/args", encoding: .utf8) == "shop\ne7\nv1\nh1\n\(capture)\n")
        #expect(try String(contentsOfFile: "\(capture)/inspect.out", encoding: .utf8) == "ps of e7\n")
    }

    @Test func inspectWithoutAHookIsUnsupportedAndAFailingHookThrows() async throws {
        let hooks = try Hooks()
        await #expect(throws: InspectUnsupported.self) {
            try await hooks.driver().inspect(target, into: hooks.dir, export: false)
        }
        let failing = try hooks.script("inspect-fail.sh", "echo 'no such executor' >&2; exit 3")
        do {
            _ = try await hooks.driver(inspect: [failing]).inspect(target, into: hooks.dir, export: false)
            Issue.record("a failing inspect hook must throw")
        } catch {
            #expect(message(of: error).contains("inspect hook on h1 failed"), "\(error)")
            #expect(message(of: error).contains("no such executor"))
        }
    }
}
