// Reduction of the release-only crash of mimic-listener on GET /v1/situation (issue 12, item 0).
// Swift 6.3.1 on Linux x86_64:
//   swiftc -O     -parse-as-library taskgroup-tuple-try-await.swift -o repro && ./repro   -> wrong
//   swiftc -Onone -parse-as-library taskgroup-tuple-try-await.swift -o repro && ./repro   -> right
// A task-group child that returns `(capturedString, try await f())` from inside do/catch loses
// results under -O (and, in the listener, went on to dereference a bad pointer). Hoisting the
// `try await` into a `let` before building the tuple, or not throwing in the child, avoids it.
struct Failure: Error { let code: Int }

@inline(never)
func ask(_ n: Int) async throws -> Int {
    if n == 2 { throw Failure(code: n) }
    await Task.yield()
    return n * 10
}

@inline(never)
func miscompiled(_ ns: [Int]) async -> [Int] {
    await withTaskGroup(of: (String, Int).self) { group in
        for n in ns {
            let name = "app-\(n)"
            group.addTask { do { return (name, try await ask(n)) } catch { return (name, -1) } }
        }
        var out: [Int] = []
        for await (_, value) in group { out.append(value) }
        return out.sorted()
    }
}

@inline(never)
func hoisted(_ ns: [Int]) async -> [Int] {
    await withTaskGroup(of: (String, Int).self) { group in
        for n in ns {
            let name = "app-\(n)"
            group.addTask { do { let value = try await ask(n); return (name, value) } catch { return (name, -1) } }
        }
        var out: [Int] = []
        for await (_, value) in group { out.append(value) }
        return out.sorted()
    }
}

@main struct Repro {
    static func main() async {
        let bad = await miscompiled([1, 2, 3])
        let good = await hoisted([1, 2, 3])
        print("try await inside the tuple: \(bad)  hoisted: \(good)  expected: [-1, 10, 30]")
        if bad != [-1, 10, 30] { print("DEFECT PRESENT") } else { print("defect absent in this toolchain") }
    }
}
