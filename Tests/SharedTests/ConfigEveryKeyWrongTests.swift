import Testing

@testable import Shared

/// Every key of both full fixtures given a wrong value in turn (issue 8): each must be refused with
/// an issue that names that key's path, at its line; no wrong value may load, none may crash.
/// `everyValueNulledIsHandled` covers null; this covers a value of the wrong kind.
@Suite struct ConfigEveryKeyWrongTests {
    /// Each `key: value` of `text` whose value is a plain scalar, with the key and the value's range.
    static func scalarValues(_ text: String) -> [(key: String, line: Int, range: Range<String.Index>)] {
        var found: [(String, Int, Range<String.Index>)] = []
        var searchStart = text.startIndex
        while let colon = text.range(of: ": ", range: searchStart..<text.endIndex) {
            searchStart = colon.upperBound
            guard let first = text[colon.upperBound...].first, !"{[\n ".contains(first) else { continue }
            let valueEnd = text[colon.upperBound...].firstIndex { ",}\n".contains($0) } ?? text.endIndex
            var keyStart = colon.lowerBound
            while keyStart > text.startIndex,
                text[text.index(before: keyStart)].isLetter || text[text.index(before: keyStart)] == "_"
            {
                keyStart = text.index(before: keyStart)
            }
            let line = text[..<colon.lowerBound].filter { $0 == "\n" }.count + 1
            found.append((String(text[keyStart..<colon.lowerBound]), line, colon.upperBound..<valueEnd))
        }
        return found
    }

    func check(_ text: String, load: (String) throws(ConfigErrors) -> Void) {
        let values = Self.scalarValues(text)
        #expect(values.count > 10, "the scanner found too few keys")
        for (key, line, range) in values {
            // A mapping is the wrong kind for every scalar key.
            let mutated = text.replacingCharacters(in: range, with: "{ wrong: [1] }")
            do throws(ConfigErrors) {
                try load(mutated)
                Issue.record("\(key) (line \(line)) given a mapping still loads")
            } catch {
                let issues = error.issues.map(\.description)
                #expect(
                    issues.contains { $0.contains(key) && $0.contains(":\(line):") },
                    "\(key) (line \(line)): issues do not name it: \(issues)")
            }
        }
    }

    @Test func everyAppKeyWrongIsNamed() {
        check(ConfigFixtures.fullApp) { text throws(ConfigErrors) in
            _ = try ConfigLoader.loadApp(text: text, file: "shop.yaml")
        }
    }

    @Test func everyListenerKeyWrongIsNamed() {
        check(ConfigFixtures.fullListener) { text throws(ConfigErrors) in
            _ = try ConfigLoader.loadListener(text: text, file: "listener.yaml")
        }
    }

    // MARK: keys added by issue 8

    static let hashed = "b22fd458dbe2426bebe59cfafe4c46e013df3efd439e4d91cda767ac3052ddd0"

    func listenerIssues(_ text: String) -> [String] {
        do throws(ConfigErrors) {
            _ = try ConfigLoader.loadListener(text: text, file: "listener.yaml")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    func tokens(_ line: String) -> String {
        "tokens:\n  - \(line)\n"
    }

    @Test func tokenSHA256Loads() throws {
        let config = try ConfigLoader.loadListener(
            text: tokens(
                "{ name: lb, token_sha256: \"\(Self.hashed.uppercased())\", sources: [left_bracket], apps: [shop] }"),
            file: "listener.yaml")
        let token = try #require(config.tokens.first)
        #expect(token.token.isEmpty)
        #expect(token.tokenSHA256?.count == 32)
        #expect(token.tokenSHA256?.first == 0xB2 && token.tokenSHA256?.last == 0xD0)
    }

    @Test func tokenSHA256Errors() {
        #expect(
            listenerIssues(tokens("{ name: lb, token_sha256: \"abc\", sources: [waf], apps: [\"*\"] }"))
                == [
                    "listener.yaml:2:31: tokens[0].token_sha256: expected 64 hex digits (sha256sum of the token, e.g. `printf %s \"$TOKEN\" | sha256sum`)"
                ])
        let notHex = String(repeating: "g", count: 64)
        #expect(
            listenerIssues(tokens("{ name: lb, token_sha256: \(notHex), sources: [waf], apps: [\"*\"] }")).first?
                .contains("tokens[0].token_sha256: expected 64 hex digits") == true)
        #expect(
            listenerIssues(
                tokens(
                    "{ name: lb, token: waf-token-0123456789, token_sha256: \(Self.hashed), sources: [waf], apps: [\"*\"] }"
                ))
                == ["listener.yaml:2:5: tokens[0]: give token or token_sha256, not both"])
        #expect(
            listenerIssues(tokens("{ name: lb, sources: [waf], apps: [\"*\"] }"))
                == ["listener.yaml:2:5: tokens[0]: token: required (or token_sha256: <64 hex digits>)"])
        let twice =
            "tokens:\n  - { name: a, token_sha256: \(Self.hashed), sources: [waf], apps: [\"*\"] }\n"
            + "  - { name: b, token_sha256: \(Self.hashed.uppercased()), sources: [waf], apps: [\"*\"] }\n"
        #expect(listenerIssues(twice) == ["listener.yaml:3:30: tokens[1].token_sha256: same token as tokens[0]"])
    }

    @Test(arguments: ["listener_uid", "worker_uid"]) func uidsAreUnsignedIntegers(_ key: String) throws {
        let base = ConfigFixtures.minimalApp
        let uid = { (config: AppConfig) in key == "listener_uid" ? config.listenerUID : config.workerUID }
        #expect(uid(try ConfigLoader.loadApp(text: base, file: "a.yaml")) == nil)
        #expect(uid(try ConfigLoader.loadApp(text: base + "\n\(key): 1000", file: "a.yaml")) == 1000)
        for wrong in ["-1", "root", "1.5", "[0]", "4294967295"] {
            do throws(ConfigErrors) {
                _ = try ConfigLoader.loadApp(text: base + "\n\(key): \(wrong)", file: "a.yaml")
                Issue.record("\(key): \(wrong) loads")
            } catch {
                #expect(error.issues.first?.description.contains(key) == true)
            }
        }
    }
}
