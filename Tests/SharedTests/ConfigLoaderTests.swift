import Testing

@testable import Shared

/// The issues `text` produces, as printed.
private func appIssues(_ text: String, file: String = "apps.d/shop.yaml") -> [String] {
    do {
        _ = try ConfigLoader.loadApp(text: text, file: file)
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

private func listenerIssues(_ text: String, file: String = "listener.yaml") -> [String] {
    do {
        _ = try ConfigLoader.loadListener(text: text, file: file)
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

/// `fullApp` with one line replaced, so each test changes exactly what it is about.
private func fullApp(replacing old: String, with new: String) -> String {
    precondition(ConfigFixtures.fullApp.contains(old), "fixture does not contain \(old)")
    return ConfigFixtures.fullApp.replacingOccurrences(of: old, with: new)
}

@Suite struct ValidConfigTests {
    @Test func fullAppLoadsEveryKey() throws {
        let config = try ConfigLoader.loadApp(text: ConfigFixtures.fullApp, file: ConfigFixtures.appFile)
        let expected = AppConfig(
            app: "shop",
            redis: RedisSettings(host: "10.0.0.5", port: 6380, db: 1, password: "secret", connectTimeout: .seconds(2)),
            replicas: Replicas(online: 3, standby: 2, minOnline: 2, retainDirty: 1),
            variants: [
                Variant(
                    name: "nginx-php", traits: ["os": "debian", "web": "nginx"], image: "reg/shop:nginx-php",
                    ports: [80]),
                Variant(
                    name: "apache-java", traits: ["os": "centos", "web": "apache"], image: "reg/shop:apache-java",
                    ports: [8080]),
            ],
            hosts: [
                HostConfig(
                    name: "node1", address: "10.0.0.11", driver: .docker, docker: "tcp://10.0.0.11:2375",
                    probe: Probe(target: .http("http://10.0.0.11:2375/_ping"), interval: .seconds(1), fall: 3, rise: 2)),
                HostConfig(
                    name: "local1", address: "127.0.0.1", driver: .command,
                    command: CommandHooks(
                        timeout: .seconds(45),
                        create: ["/etc/mimic/apps.d/hooks/create.sh", "{app}", "{executor}", "{variant}", "{host}"],
                        clean: ["/etc/mimic/apps.d/hooks/clean.sh", "{app}", "{executor}", "{variant}", "{host}"],
                        remove: ["/etc/mimic/apps.d/hooks/remove.sh", "{app}", "{executor}", "{host}"],
                        list: ["docker", "ps", "--filter", "label=mimic.app={app}"]),
                    probe: Probe(
                        target: .tcp(host: "127.0.0.1", port: 9101), interval: .milliseconds(200), fall: 4, rise: 1)),
            ],
            scheduling: Scheduling(
                strategy: .roundRobin, rotateEvery: .zero, abnormalDissents: 5,
                abnormalWindow: .seconds(120), seed: 42),
            brackets: Brackets(webhook: "http://127.0.0.1:9000/online"),
            lists: Lists(blacklist: ["/admin/*"], whitelist: []),
            runDir: "/etc/mimic/run",
            maxParallelActions: 2,
            reconcileEvery: .seconds(60),
            forensics: ForensicsSettings(dir: "/etc/mimic/evidence", export: true, timeout: .seconds(90)),
            logExport: LogExportSettings(
                syslog: SyslogTarget(host: "logs.example.net", port: 6514, usesTLS: true), facility: .local3,
                hostname: "shop-worker-1",
                tls: SyslogTLS(caFile: "/etc/mimic/pki/ca.pem", serverName: "logs.example.net")),
            sourceFile: ConfigFixtures.appFile)
        #expect(config == expected)
    }

    @Test func minimalAppTakesDefaults() throws {
        let config = try ConfigLoader.loadApp(text: ConfigFixtures.minimalApp, file: "/cfg/apps.d/blog.yaml")
        #expect(
            config.redis
                == RedisSettings(host: "127.0.0.1", port: 6379, db: 2, password: nil, connectTimeout: .seconds(2)))
        #expect(config.replicas == Replicas(online: 1, standby: 0, minOnline: 1, retainDirty: 0))
        #expect(config.variants == [Variant(name: "v1", traits: [:], image: nil)])
        #expect(config.hosts[0].command?.timeout == .seconds(30))
        #expect(config.hosts[0].command?.create == ["c"])
        #expect(config.hosts[0].probe == nil)
        #expect(config.scheduling == Scheduling())
        #expect(config.brackets == Brackets())
        #expect(config.lists == Lists())
        #expect(config.runDir == "/cfg/apps.d/run")
        #expect(config.maxParallelActions == 4)
        #expect(config.reconcileEvery == .seconds(30))
    }

    @Test func fullListenerLoadsEveryKey() throws {
        let config = try ConfigLoader.loadListener(text: ConfigFixtures.fullListener, file: ConfigFixtures.listenerFile)
        var expected = ListenerConfig(
            http: .init(host: "0.0.0.0", port: 8600), tcp: .init(host: "127.0.0.1", port: 8601),
            appsDir: "/srv/mimic/apps.d", runDir: "/var/run/mimic", journalDir: "/srv/mimic/journal",
            fsync: .always, maxMessageBytes: 2048, maxBacklogBytes: 4096,
            journalRetain: .seconds(1800), journalRetainBytes: 2_097_152,
            tokens: [
                .init(name: "waf-1", token: "waf-token-0123456789", sources: ["waf"], apps: ["*"]),
                .init(name: "ops", token: "ops-token-0123456789", sources: ["*"], apps: ["shop", "blog"]),
            ],
            supervise: .init(enabled: true, worker: "/srv/mimic/bin/mimic-worker"),
            sourceFile: ConfigFixtures.listenerFile)
        expected.trendInterval = .seconds(2)
        #expect(config == expected)
    }

    @Test func trendIntervalIsBounded() {
        #expect(
            listenerIssues("trend_interval: 0s\n") == ["listener.yaml:1:17: trend_interval: must be between 1s and 60s"]
        )
        #expect(
            listenerIssues("trend_interval: 2m\n") == ["listener.yaml:1:17: trend_interval: must be between 1s and 60s"]
        )
        #expect(listenerIssues("trend_interval: 60s\n").isEmpty)
    }

    @Test func emptyListenerIsAllDefaults() throws {
        let config = try ConfigLoader.loadListener(text: "# nothing set\n", file: "/srv/listener.yaml")
        #expect(
            config
                == ListenerConfig(
                    appsDir: "/srv/apps.d", runDir: "/srv/run", journalDir: "/srv/journal",
                    sourceFile: "/srv/listener.yaml"))
    }

    @Test func relativeFileResolvesAgainstWorkingDirectory() throws {
        let config = try ConfigLoader.loadApp(text: ConfigFixtures.minimalApp, file: "apps.d/blog.yaml")
        #expect(config.runDir.hasPrefix("/"))
        #expect(config.runDir.hasSuffix("/apps.d/run"))
        #expect(config.sourceFile == "apps.d/blog.yaml")
    }
}

@Suite struct AppConfigErrorTests {
    @Test func wrongType() {
        let text = fullApp(replacing: "replicas: { online: 3,", with: "replicas: { online: three,")
        #expect(appIssues(text) == ["apps.d/shop.yaml:3:21: replicas.online: expected an integer"])
    }

    @Test func quotedOrFractionalIntegerIsRefused() {
        let quoted = fullApp(replacing: "replicas: { online: 3,", with: "replicas: { online: \"3\",")
        #expect(appIssues(quoted) == ["apps.d/shop.yaml:3:21: replicas.online: expected an integer"])
        let fraction = fullApp(replacing: "max_parallel_actions: 2", with: "max_parallel_actions: 2.5")
        #expect(appIssues(fraction) == ["apps.d/shop.yaml:32:23: max_parallel_actions: expected an integer"])
    }

    @Test func missingKeyPointsAtParentMapping() {
        let text = fullApp(
            replacing: "redis: { host: 10.0.0.5, port: 6380, db: 1, password: secret }",
            with: "redis: { host: 10.0.0.5, port: 6380, password: secret }")
        #expect(appIssues(text) == ["apps.d/shop.yaml:2:8: redis.db: required key missing"])
    }

    @Test func missingTopLevelKeyPointsAtDocument() {
        let text = fullApp(replacing: "app: shop\n", with: "")
        #expect(appIssues(text) == ["apps.d/shop.yaml:1:1: app: required key missing"])
    }

    @Test func unknownKey() {
        let text = fullApp(replacing: "    probe: { tcp:", with: "    probes: { tcp:")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:22:5: hosts[1].probes: unknown key (expected one of: name, address, driver, docker, command, probe, env, docker_timeout, docker_network, ports, ready_timeout)"
            ])
    }

    @Test func badDuration() {
        let text = fullApp(replacing: "interval: 200ms", with: "interval: 200")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:22:47: hosts[1].probe.interval: expected a duration like 200ms, 1s, 10m or 1h"
            ])
    }

    @Test func badIndentationIsSyntaxError() {
        let text = fullApp(replacing: "  abnormal: { dissents", with: " abnormal: { dissents")
        #expect(appIssues(text) == ["apps.d/shop.yaml:26:2: did not find expected key while parsing a block mapping"])
    }

    @Test func unclosedBracketIsSyntaxError() {
        let text = fullApp(
            replacing: "lists: { blacklist: [\"/admin/*\"], whitelist: [] }",
            with: "lists: { blacklist: [\"/admin/*\", whitelist: [] }")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:30:48: did not find expected ',' or ']' while parsing a flow sequence"
            ])
    }

    @Test func duplicateKey() {
        let text = fullApp(
            replacing: "    address: 127.0.0.1\n", with: "    address: 127.0.0.1\n    address: 127.0.0.2\n")
        #expect(
            appIssues(text) == ["apps.d/shop.yaml:15:5: hosts[1].address: duplicate key (first at line 14, column 5)"])
    }

    @Test func invalidAppName() {
        let text = fullApp(replacing: "app: shop", with: "app: Shop_1")
        #expect(appIssues(text) == ["apps.d/shop.yaml:1:6: app: invalid app name (expected [a-z0-9-]{1,32})"])
    }

    @Test func minOnlineAboveOnline() {
        let text = fullApp(replacing: "min_online: 2", with: "min_online: 4")
        #expect(appIssues(text) == ["apps.d/shop.yaml:3:48: replicas.min_online: must not be greater than online (3)"])
    }

    @Test func redisDBOutOfRange() {
        let text = fullApp(replacing: "db: 1,", with: "db: 16,")
        #expect(appIssues(text) == ["apps.d/shop.yaml:2:42: redis.db: must be between 0 and 15"])
    }

    @Test func duplicateVariant() {
        let text = fullApp(replacing: "name: apache-java", with: "name: nginx-php")
        #expect(
            appIssues(text) == ["apps.d/shop.yaml:6:13: variants[1].name: duplicate variant name (also variants[0])"])
    }

    @Test func duplicateHost() {
        let text = fullApp(replacing: "name: local1", with: "name: node1")
        #expect(appIssues(text) == ["apps.d/shop.yaml:13:11: hosts[1].name: duplicate host name (also hosts[0])"])
    }

    @Test func hookWithUnknownPlaceholder() {
        let text = fullApp(replacing: "\"{executor}\", \"{host}\"]", with: "\"{executor}\", \"{node}\"]")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:20:60: hosts[1].command.remove[3]: unknown placeholder {node} (expected {app}, {executor}, {variant} or {host})"
            ])
    }

    @Test func emptyHookIsRefused() {
        let text = fullApp(
            replacing: "remove: [\"./hooks/remove.sh\", \"{app}\", \"{executor}\", \"{host}\"]", with: "remove: []")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:20:15: hosts[1].command.remove: must be a non-empty list of arguments"
            ])
    }

    @Test func commandDriverWithDockerKeys() {
        let text = fullApp(replacing: "    driver: docker\n", with: "    driver: command\n")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:8:5: hosts[0].command: required key missing",
                "apps.d/shop.yaml:11:13: hosts[0].docker: not allowed with driver: command",
            ])
    }

    @Test func dockerDriverWithCommandKeys() {
        let text = fullApp(replacing: "    driver: command\n", with: "    driver: docker\n")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:13:5: hosts[1].docker: required key missing",
                "apps.d/shop.yaml:17:7: hosts[1].command: not allowed with driver: docker",
            ])
    }

    @Test func dockerDriverNeedsVariantImages() {
        let text = fullApp(replacing: ", image: reg/shop:apache-java, ports", with: ", ports")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:6:5: variants[1].image: required key missing (hosts[0] uses the docker driver)"
            ])
    }

    @Test func dockerDriverNeedsVariantPorts() {
        let text = fullApp(replacing: ", ports: [8080] }", with: " }")
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:6:5: variants[1].ports: required key missing (hosts[0] uses the docker driver; "
                    + "the first port is the endpoint)"
            ])
    }

    @Test func portsAndEnvironmentAreChecked() {
        let ports = fullApp(replacing: "ports: [8080]", with: "ports: [8080, 0, 8080]")
        #expect(
            appIssues(ports) == [
                "apps.d/shop.yaml:6:106: variants[1].ports[1]: must be between 1 and 65535",
                "apps.d/shop.yaml:6:109: variants[1].ports[2]: duplicate port 8080",
            ])
        let env = fullApp(replacing: "ports: [80] }", with: "ports: [80], env: { 1BAD: x } }")
        #expect(
            appIssues(env) == [
                "apps.d/shop.yaml:5:113: variants[0].env.1BAD: invalid environment variable name "
                    + "(expected letters, digits and _, not starting with a digit)"
            ])
        let commandEnv = fullApp(replacing: "    driver: command\n", with: "    driver: command\n    env: { A: b }\n")
        #expect(appIssues(commandEnv) == ["apps.d/shop.yaml:16:10: hosts[1].env: not allowed with driver: command"])
    }

    @Test func dockerHostEnvironmentAndTimeoutLoad() throws {
        let text = fullApp(
            replacing: "    docker: tcp://10.0.0.11:2375\n",
            with: "    docker: tcp://10.0.0.11:2375\n    env: { DB_HOST: 10.0.0.5 }\n    docker_timeout: 5s\n")
        let config = try ConfigLoader.loadApp(text: text, file: ConfigFixtures.appFile)
        #expect(config.hosts[0].env == ["DB_HOST": "10.0.0.5"])
        #expect(config.hosts[0].dockerTimeout == .seconds(5))
        #expect(config.hosts[1].dockerTimeout == .seconds(60))
        #expect(config.hosts[0].readyTimeout == .seconds(30), "the default wait for a new container's endpoint")
    }

    @Test func readyTimeoutIsADockerDurationAndZeroTurnsTheWaitOff() throws {
        let off = fullApp(
            replacing: "    docker: tcp://10.0.0.11:2375\n",
            with: "    docker: tcp://10.0.0.11:2375\n    ready_timeout: 0s\n")
        #expect(try ConfigLoader.loadApp(text: off, file: ConfigFixtures.appFile).hosts[0].readyTimeout == .zero)
        let wrong = fullApp(
            replacing: "    docker: tcp://10.0.0.11:2375\n",
            with: "    docker: tcp://10.0.0.11:2375\n    ready_timeout: soon\n")
        #expect(
            appIssues(wrong) == [
                "apps.d/shop.yaml:12:20: hosts[0].ready_timeout: expected a duration like 200ms, 1s, 10m or 1h"
            ])
        let command = fullApp(replacing: "    driver: command\n", with: "    driver: command\n    ready_timeout: 5s\n")
        #expect(
            appIssues(command) == ["apps.d/shop.yaml:16:20: hosts[1].ready_timeout: not allowed with driver: command"])
    }

    @Test func probeNeedsExactlyOneTarget() {
        let text = fullApp(replacing: "probe: { tcp: \"127.0.0.1:9101\", ", with: "probe: { ")
        #expect(appIssues(text) == ["apps.d/shop.yaml:22:12: hosts[1].probe: exactly one of http or tcp is required"])
    }

    @Test func nullDriverSectionCountsAsMissing() {
        let text = fullApp(replacing: "docker: tcp://10.0.0.11:2375", with: "docker: null")
        #expect(appIssues(text) == ["apps.d/shop.yaml:8:5: hosts[0].docker: required key missing"])
        let probe = fullApp(replacing: "probe: { tcp: \"127.0.0.1:9101\",", with: "probe: { tcp: ~,")
        #expect(appIssues(probe) == ["apps.d/shop.yaml:22:12: hosts[1].probe: exactly one of http or tcp is required"])
    }

    @Test func seedMustBeNonNegative() {
        let text = fullApp(replacing: "seed: 42", with: "seed: -1")
        #expect(appIssues(text) == ["apps.d/shop.yaml:27:9: scheduling.seed: expected null or a non-negative integer"])
    }

    @Test func everyErrorOfAFileIsReported() {
        let text =
            fullApp(replacing: "app: shop", with: "app: SHOP")
            .replacingOccurrences(of: "db: 1,", with: "db: 99,")
            .replacingOccurrences(of: "rotate_every: 0", with: "rotate_every: soon")
            .replacingOccurrences(of: "max_parallel_actions: 2", with: "max_parallel_actions: 0")
            + "\ncolour: red\n"
        #expect(
            appIssues(text) == [
                "apps.d/shop.yaml:1:6: app: invalid app name (expected [a-z0-9-]{1,32})",
                "apps.d/shop.yaml:2:42: redis.db: must be between 0 and 15",
                "apps.d/shop.yaml:25:17: scheduling.rotate_every: expected a duration like 200ms, 1s, 10m or 1h",
                "apps.d/shop.yaml:32:23: max_parallel_actions: must be at least 1",
                "apps.d/shop.yaml:36:1: colour: unknown key (expected one of: app, redis, replicas, variants, hosts, scheduling, brackets, lists, run_dir, max_parallel_actions, reconcile_every, listener_uid, worker_uid, forensics, log_export)",
            ])
    }

    @Test func secondDocumentIsRefused() {
        let issues = appIssues(ConfigFixtures.minimalApp + "\n---\napp: other\n", file: "blog.yaml")
        #expect(issues == ["blog.yaml:9:1: only one YAML document per file"])
    }

    @Test func recursiveAliasIsRefused() {
        let issues = appIssues("a: &x [*x]\n")
        #expect(issues.count == 1)
        #expect(issues.first?.contains("too deeply nested") == true, "\(issues)")
    }

    /// Whatever a typo does to a valid file, loading never crashes, never fails silently, and
    /// every issue points inside the file.
    @Test func everySingleCharacterDeletionIsHandled() {
        let text = ConfigFixtures.fullApp
        let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
        for offset in 0..<text.count {
            var mutated = text
            mutated.remove(at: mutated.index(mutated.startIndex, offsetBy: offset))
            do {
                _ = try ConfigLoader.loadApp(text: mutated, file: "x.yaml")
            } catch {
                #expect(!error.issues.isEmpty, "no issue for deletion at \(offset)")
                for issue in error.issues {
                    #expect(
                        (1...lineCount + 1).contains(issue.line) && issue.column >= 1,
                        "deletion at \(offset): \(issue)")
                }
            }
        }
    }

    /// Every value set to `null` in turn: each is either allowed or reported, never dropped silently.
    @Test func everyValueNulledIsHandled() {
        let text = ConfigFixtures.fullApp
        var searchStart = text.startIndex
        while let colon = text.range(of: ": ", range: searchStart..<text.endIndex) {
            searchStart = colon.upperBound
            let valueEnd = text[colon.upperBound...].firstIndex { ",}\n".contains($0) } ?? text.endIndex
            let mutated = text.replacingCharacters(in: colon.upperBound..<valueEnd, with: "null")
            do {
                _ = try ConfigLoader.loadApp(text: mutated, file: "x.yaml")
            } catch {
                #expect(!error.issues.isEmpty, "no issue for \(text[colon.upperBound..<valueEnd]) set to null")
            }
        }
    }

    @Test func placeholderScanner() {
        #expect(ConfigDecoder.unknownPlaceholder(in: "mimic-{app}-{executor}") == nil)
        #expect(ConfigDecoder.unknownPlaceholder(in: "{app}{bad}") == "bad")
        #expect(ConfigDecoder.unknownPlaceholder(in: "literal { brace") == nil)
        #expect(ConfigDecoder.unknownPlaceholder(in: "{}") == "")
    }
}

@Suite struct ListenerConfigErrorTests {
    @Test func shortToken() {
        let text = ConfigFixtures.fullListener.replacingOccurrences(of: "\"waf-token-0123456789\"", with: "\"waf\"")
        #expect(
            listenerIssues(text) == ["listener.yaml:10:27: tokens[0].token: token too short (at least 16 characters)"])
    }

    @Test func tokenScopesAndNames() {
        let text = ConfigFixtures.fullListener
            .replacingOccurrences(of: "name: ops", with: "name: waf-1")
            .replacingOccurrences(of: "sources: [waf]", with: "sources: [wafs]")
            .replacingOccurrences(of: "apps: [shop, blog]", with: "apps: [shop, Blog]")
        #expect(
            listenerIssues(text) == [
                "listener.yaml:10:61: tokens[0].sources[0]: unknown source (expected left_bracket, right_bracket, waf, firewall, admin, read or *)",
                "listener.yaml:11:13: tokens[1].name: duplicate token name (also tokens[0])",
                "listener.yaml:11:80: tokens[1].apps[1]: invalid app name (expected [a-z0-9-]{1,32} or *)",
            ])
    }

    @Test func fsyncAndSizes() {
        let text = ConfigFixtures.fullListener
            .replacingOccurrences(of: "fsync: always", with: "fsync: sometimes")
            .replacingOccurrences(of: "max_backlog_bytes: 4096", with: "max_backlog_bytes: 1024")
        #expect(
            listenerIssues(text) == [
                "listener.yaml:6:8: fsync: expected one of: always, batch, none",
                "listener.yaml:8:20: max_backlog_bytes: must be at least max_message_bytes (2048)",
            ])
    }

    /// Issue 12: a message of max_message_bytes, framed for the worker, must fit its line limit.
    @Test func maxMessageBytesIsBoundedSoAFrameFitsTheWorkersLine() {
        let text = ConfigFixtures.fullListener
            .replacingOccurrences(of: "max_message_bytes: 2048", with: "max_message_bytes: 8388608")
            .replacingOccurrences(of: "max_backlog_bytes: 4096", with: "max_backlog_bytes: 1073741824")
        #expect(listenerIssues(text) == ["listener.yaml:7:20: max_message_bytes: must be between 1024 and 1048576"])
        let largest = text.replacingOccurrences(of: "max_message_bytes: 8388608", with: "max_message_bytes: 1048576")
        #expect(listenerIssues(largest) == [])
    }

    /// Issue 12: how long and how much of the acknowledged journal is kept for replay.
    @Test func journalRetainIsADurationOfAtMost720hAndRetainBytesNotNegative() throws {
        let text = ConfigFixtures.fullListener
            .replacingOccurrences(of: "journal_retain: 30m", with: "journal_retain: 721h")
            .replacingOccurrences(of: "journal_retain_bytes: 2097152", with: "journal_retain_bytes: -1")
        #expect(
            listenerIssues(text) == [
                "listener.yaml:13:17: journal_retain: must be at most 720h",
                "listener.yaml:14:23: journal_retain_bytes: must be at least 0",
            ])
        let words = ConfigFixtures.fullListener.replacingOccurrences(
            of: "journal_retain: 30m", with: "journal_retain: soon")
        #expect(
            listenerIssues(words) == [
                "listener.yaml:13:17: journal_retain: expected a duration like 200ms, 1s, 10m or 1h"
            ])
        let off = try ConfigLoader.loadListener(
            text: "journal_retain: 0s\njournal_retain_bytes: 0\n", file: "/srv/listener.yaml")
        #expect(off.journalRetain == .zero && off.journalRetainBytes == 0)
        let defaults = try ConfigLoader.loadListener(text: "# nothing\n", file: "/srv/listener.yaml")
        #expect(defaults.journalRetain == .seconds(900) && defaults.journalRetainBytes == 1 << 30)
    }

    @Test func superviseEnabledMustBeBoolean() {
        let text = ConfigFixtures.fullListener.replacingOccurrences(of: "enabled: true", with: "enabled: yes")
        #expect(listenerIssues(text) == ["listener.yaml:12:23: supervise.enabled: expected true or false"])
    }
}
