import Foundation
import Testing

@testable import Shared

/// `instance` and `cluster` in listener.yaml (DESIGN section 11, issue 14): what loads, and every
/// mistake refused at its file:line:col with its key path.
@Suite struct ClusterConfigTests {
    func issues(_ text: String) -> [String] {
        do throws(ConfigErrors) {
            _ = try ConfigLoader.loadListener(text: text, file: "listener.yaml")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func theClusterFormLoads() throws {
        let config = try ConfigLoader.loadListener(
            text: """
                instance: sched-1
                supervise: { enabled: true }
                cluster:
                  redis: { sentinel: { master: mimic, nodes: ["10.0.0.5:26379"] }, db: 0, wait: { replicas: 1 } }
                  lease: 5s

                """, file: "listener.yaml")
        #expect(config.instance == "sched-1")
        #expect(config.cluster?.lease == .seconds(5))
        #expect(config.cluster?.redis.db == 0)
        #expect(config.cluster?.redis.wait == ReplicaWait(replicas: 1, timeout: .milliseconds(500)))
        #expect(config.cluster?.redis.sentinel?.master == "mimic")
    }

    @Test func withoutClusterTheListenerIsOneMachineAndNamedAfterItsHost() throws {
        let config = try ConfigLoader.loadListener(text: "# nothing\n", file: "listener.yaml")
        #expect(config.cluster == nil)
        #expect(config.instance == ListenerConfig.defaultInstance)
        let lease = try ConfigLoader.loadListener(
            text: "supervise: { enabled: true }\ncluster: { redis: { db: 3 } }\n", file: "listener.yaml")
        #expect(lease.cluster?.lease == .seconds(3))
    }

    @Test func mistakesNameTheirKey() {
        #expect(
            issues("instance: \"a b\"\n")
                == [
                    #"listener.yaml:1:11: instance: expected letters, digits, '.', '_' or '-' (at most 253), got "a b""#
                ])
        #expect(
            issues("supervise: { enabled: true }\ncluster: { redis: { db: 1 }, lease: 500ms }\n")
                == ["listener.yaml:2:37: cluster.lease: must be between 1s and 60s"])
        #expect(
            issues("supervise: { enabled: true }\ncluster: { lease: 2s }\n")
                == ["listener.yaml:2:10: cluster.redis: required key missing"])
        #expect(
            issues("supervise: { enabled: true }\ncluster: { redis: { db: 1 }, leases: 2s }\n").first?.contains(
                "cluster.leases") == true)
        #expect(
            issues("cluster: { redis: { db: 1 } }\n")
                == [
                    "listener.yaml:1:10: cluster: needs supervise.enabled: true: in cluster mode each instance starts the workers of the apps it owns"
                ])
    }
}
