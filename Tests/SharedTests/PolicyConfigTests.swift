import Testing

@testable import Shared

/// The scheduling-policy keys of issue 4: defaults, every key read, and positioned errors.
@Suite struct PolicyConfigTests {
    private static let base = """
        app: shop
        redis: { db: 1 }
        replicas: { online: 3, standby: 2, min_online: 2, retain_dirty: 1 }
        variants:
          - { name: v1 }
        hosts:
          - { name: h1, address: 127.0.0.1, driver: command, command: { create: [c], clean: [c], remove: [r], list: [l] } }

        """

    private func issues(_ tail: String, replicas: String? = nil) -> [String] {
        var text = Self.base + tail
        if let replicas { text = text.replacingOccurrences(of: "retain_dirty: 1 }", with: replicas) }
        do {
            _ = try ConfigLoader.loadApp(text: text, file: "apps.d/shop.yaml")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func defaults() throws {
        let config = try ConfigLoader.loadApp(text: Self.base, file: "/cfg/apps.d/shop.yaml")
        #expect(config.replicas.dirtyTTL == .zero)
        #expect(config.scheduling.abnormalDegraded == 3)
        #expect(config.scheduling.abnormalLowSeverity == 5)
        #expect(config.scheduling.rotateJitter == 0.2)
        #expect(config.scheduling.rotatePerExecutor == false)
        #expect(
            config.scheduling.feedback == Feedback(blacklistSuspects: true, suspectTTL: .seconds(3600), variants: 2))
        #expect(
            config.scheduling.learning
                == Learning(enabled: true, halfLife: .seconds(600), ejectBelow: 0.25, maxPatterns: 256))
    }

    @Test func everyPolicyKeyIsRead() throws {
        let text =
            Self.base.replacingOccurrences(of: "retain_dirty: 1 }", with: "retain_dirty: 1, dirty_ttl: 15m }") + """
                scheduling:
                  rotate_every: 5m
                  rotate_jitter: 0.35
                  rotate_per_executor: true
                  abnormal: { dissents: 4, window: 30s, degraded: 6, low_severity: 0 }
                  feedback: { blacklist_suspects: false, suspect_ttl: 2h, variants: 3 }
                  learning: { enabled: false, half_life: 20m, eject_below: 0.1, max_patterns: 32 }
                """
        let config = try ConfigLoader.loadApp(text: text, file: "/cfg/apps.d/shop.yaml")
        #expect(config.replicas.dirtyTTL == .seconds(900))
        #expect(
            config.scheduling
                == Scheduling(
                    strategy: .heterogeneity, rotateEvery: .seconds(300), abnormalDissents: 4,
                    abnormalWindow: .seconds(30),
                    seed: nil, abnormalDegraded: 6, abnormalLowSeverity: 0, rotateJitter: 0.35,
                    feedback: Feedback(blacklistSuspects: false, suspectTTL: .seconds(7200), variants: 3),
                    rotatePerExecutor: true,
                    learning: Learning(enabled: false, halfLife: .seconds(1200), ejectBelow: 0.1, maxPatterns: 32)))
    }

    @Test func badValuesArePositioned() {
        #expect(
            issues("scheduling: { rotate_jitter: 1.5 }")
                == ["apps.d/shop.yaml:8:30: scheduling.rotate_jitter: must be at least 0 and less than 1"])
        #expect(
            issues("scheduling: { rotate_per_executor: sometimes }")
                == ["apps.d/shop.yaml:8:36: scheduling.rotate_per_executor: expected true or false"])
        #expect(
            issues("scheduling: { rotate_jitter: lots }")
                == ["apps.d/shop.yaml:8:30: scheduling.rotate_jitter: expected a number"])
        #expect(
            issues("scheduling: { abnormal: { degraded: -1 } }")
                == ["apps.d/shop.yaml:8:37: scheduling.abnormal.degraded: must be at least 0"])
        #expect(
            issues("scheduling: { feedback: { variants: 1 } }")
                == ["apps.d/shop.yaml:8:37: scheduling.feedback.variants: must be at least 2"])
        #expect(
            issues("scheduling: { feedback: { blacklist_suspects: yes } }")
                == ["apps.d/shop.yaml:8:47: scheduling.feedback.blacklist_suspects: expected true or false"])
        #expect(
            issues("scheduling: { feedback: { suspect_ttl: 0 } }")
                == ["apps.d/shop.yaml:8:40: scheduling.feedback.suspect_ttl: must be greater than 0"])
        #expect(
            issues("scheduling: { learning: { enabled: maybe } }")
                == ["apps.d/shop.yaml:8:36: scheduling.learning.enabled: expected true or false"])
        #expect(
            issues("scheduling: { learning: { half_life: 0s } }")
                == ["apps.d/shop.yaml:8:38: scheduling.learning.half_life: must be greater than 0"])
        #expect(
            issues("scheduling: { learning: { half_life: 31d } }")
                == ["apps.d/shop.yaml:8:38: scheduling.learning.half_life: must be at most 30 days"])
        #expect(
            issues("scheduling: { learning: { eject_below: 1 } }")
                == ["apps.d/shop.yaml:8:40: scheduling.learning.eject_below: must be at least 0 and less than 1"])
        #expect(
            issues("scheduling: { learning: { max_patterns: 0 } }")
                == ["apps.d/shop.yaml:8:41: scheduling.learning.max_patterns: must be between 1 and 65536"])
        #expect(
            issues("scheduling: { learning: { max_patterns: 70000 } }")
                == ["apps.d/shop.yaml:8:41: scheduling.learning.max_patterns: must be between 1 and 65536"])
        #expect(
            issues("", replicas: "retain_dirty: 1, dirty_ttl: soon }")
                == ["apps.d/shop.yaml:3:79: replicas.dirty_ttl: expected a duration like 200ms, 1s, 10m or 1h"])
    }

    @Test func unknownPolicyKeysAreErrors() {
        #expect(
            issues("scheduling: { feedback: { blacklist: true } }") == [
                "apps.d/shop.yaml:8:27: scheduling.feedback.blacklist: unknown key (expected one of: blacklist_suspects, suspect_ttl, variants)"
            ])
        #expect(
            issues("scheduling: { abnormal: { degrade: 2 } }") == [
                "apps.d/shop.yaml:8:27: scheduling.abnormal.degrade: unknown key (expected one of: dissents, window, degraded, low_severity)"
            ])
        #expect(
            issues("scheduling: { jitter: 0.1 }") == [
                "apps.d/shop.yaml:8:15: scheduling.jitter: unknown key (expected one of: strategy, rotate_every, rotate_jitter, rotate_per_executor, abnormal, feedback, learning, seed)"
            ])
        #expect(
            issues("scheduling: { learning: { halflife: 1m } }") == [
                "apps.d/shop.yaml:8:27: scheduling.learning.halflife: unknown key (expected one of: enabled, half_life, eject_below, max_patterns)"
            ])
    }
}
