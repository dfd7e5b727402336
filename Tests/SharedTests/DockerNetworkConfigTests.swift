import Testing

@testable import Shared

/// Issue 19's keys: `docker_network` and `ports` on a docker host, `command` on a variant.
@Suite struct DockerNetworkConfigTests {
    static func text(replacing old: String, with new: String) -> String {
        precondition(ConfigFixtures.fullApp.contains(old), "fixture does not contain \(old)")
        return ConfigFixtures.fullApp.replacingOccurrences(of: old, with: new)
    }

    static func issues(_ text: String) -> [String] {
        do {
            _ = try ConfigLoader.loadApp(text: text, file: "apps.d/shop.yaml")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    static let dockerLine = "    docker: tcp://10.0.0.11:2375\n"

    @Test func hostNetworkingLoadsWithItsRangeAndVariantsNeedNoPorts() throws {
        var text = Self.text(
            replacing: Self.dockerLine, with: Self.dockerLine + "    docker_network: host\n    ports: 20000-20999\n")
        text = text.replacingOccurrences(of: ", ports: [80] }", with: #", command: ["/serve", "{port}"] }"#)
        text = text.replacingOccurrences(of: ", ports: [8080] }", with: " }")
        let config = try ConfigLoader.loadApp(text: text, file: ConfigFixtures.appFile)
        #expect(config.hosts[0].dockerNetwork == .host)
        #expect(config.hosts[0].ports == 20000...20999)
        #expect(config.variants[0].command == ["/serve", "{port}"])
        #expect(config.variants[1].command == nil)
        #expect(config.hosts[1].dockerNetwork == .bridge && config.hosts[1].ports == nil)
    }

    @Test func bridgeStaysTheDefaultAndNeedsVariantPorts() throws {
        let config = try ConfigLoader.loadApp(text: ConfigFixtures.fullApp, file: ConfigFixtures.appFile)
        #expect(config.hosts[0].dockerNetwork == .bridge)
        #expect(config.hosts[0].ports == nil)
        let explicit = Self.text(
            replacing: Self.dockerLine + "    probe:", with: Self.dockerLine + "    docker_network: bridge\n    probe:")
        #expect(
            try ConfigLoader.loadApp(text: explicit, file: ConfigFixtures.appFile).hosts[0].dockerNetwork == .bridge)
        let noPorts = explicit.replacingOccurrences(of: ", ports: [8080] }", with: " }")
        #expect(
            Self.issues(noPorts) == [
                "apps.d/shop.yaml:6:5: variants[1].ports: required key missing (hosts[0] uses the docker driver; "
                    + "the first port is the endpoint)"
            ])
    }

    @Test func hostNetworkingWithoutARangeOrARangeWithoutIt() {
        let missing = Self.text(replacing: Self.dockerLine, with: Self.dockerLine + "    docker_network: host\n")
        #expect(
            Self.issues(missing) == [
                "apps.d/shop.yaml:8:5: hosts[0].ports: required key missing (docker_network: host gives each "
                    + "executor a port of this range, e.g. ports: 20000-20999)"
            ])
        let stray = Self.text(replacing: Self.dockerLine, with: Self.dockerLine + "    ports: 20000-20999\n")
        #expect(
            Self.issues(stray) == [
                "apps.d/shop.yaml:12:12: hosts[0].ports: only allowed with docker_network: host (bridge publishes "
                    + "variants[].ports to ports the engine picks)"
            ])
        let network = Self.text(replacing: Self.dockerLine, with: Self.dockerLine + "    docker_network: overlay\n")
        #expect(
            Self.issues(network) == ["apps.d/shop.yaml:12:21: hosts[0].docker_network: expected one of: bridge, host"])
    }

    @Test func badRangesSayWhatIsExpected() {
        func issues(_ range: String) -> [String] {
            Self.issues(
                Self.text(
                    replacing: Self.dockerLine,
                    with: Self.dockerLine + "    docker_network: host\n    ports: \(range)\n"))
        }
        #expect(
            issues("20999-20000") == [
                "apps.d/shop.yaml:13:12: hosts[0].ports: the range's first port 20999 is above its last 20000; write 20000-20999"
            ])
        #expect(
            issues("0-100") == [
                "apps.d/shop.yaml:13:12: hosts[0].ports: expected a port range like 20000-20999 (ports between 1 and 65535)"
            ])
        #expect(
            issues("many") == [
                "apps.d/shop.yaml:13:12: hosts[0].ports: expected a port range like 20000-20999 (ports between 1 and 65535)"
            ])
        #expect(
            issues("[20000, 20001]") == [
                "apps.d/shop.yaml:13:12: hosts[0].ports: expected a port range like 20000-20999"
            ])
        #expect(issues("20000").isEmpty, "one port is a range of one")
    }

    @Test func commandHostsRefuseTheDockerKeysAndVariantCommandsAreLists() {
        let command = Self.text(
            replacing: "    driver: command\n", with: "    driver: command\n    docker_network: host\n    ports: 1-2\n")
        #expect(
            Self.issues(command) == [
                "apps.d/shop.yaml:16:21: hosts[1].docker_network: not allowed with driver: command",
                "apps.d/shop.yaml:17:12: hosts[1].ports: not allowed with driver: command",
            ])
        let empty = Self.text(replacing: ", ports: [80] }", with: ", ports: [80], command: [] }")
        #expect(
            Self.issues(empty) == [
                "apps.d/shop.yaml:5:109: variants[0].command: must be a non-empty list of arguments (or leave it "
                    + "out for the image's own)"
            ])
    }
}
