import Shared
import Testing

/// Every number, duration and list a message carries is bounded at validation, with an error that
/// names the field and the bound (DESIGN section 10; RELIABILITY.md's bad-input table).
@Suite struct MessageBoundsTests {
    private func body(_ source: Source, _ type: MessageType, _ fields: [String: JSONValue]) -> Result<
        MessageBody, EnvelopeError
    > {
        let envelope = Envelope(id: "b-1", app: "shop", source: source, type: type, body: .object(fields))
        do { return .success(try envelope.validated()) } catch { return .failure(error) }
    }

    private func listAdd(ttl: String) -> Result<MessageBody, EnvelopeError> {
        body(
            .waf, .list,
            ["list": .string("blacklist"), "op": .string("add"), "url": .string("/x"), "ttl": .string(ttl)])
    }

    @Test(arguments: ["9223372036854775807ms", "366d", "8785h", "31622401s"])
    func aListTTLBeyondAYearIsRefusedNamingTheBound(ttl: String) {
        guard case .failure(let error) = listAdd(ttl: ttl) else {
            Issue.record("ttl \(ttl) accepted")
            return
        }
        #expect(error.message.contains("body.ttl") && error.message.contains("at most 365d"), "\(error)")
    }

    @Test(arguments: ["0", "1ms", "1h", "365d"])
    func aListTTLUpToAYearIsAccepted(ttl: String) throws {
        guard case .success(.list(let change)) = listAdd(ttl: ttl) else {
            Issue.record("ttl \(ttl) refused")
            return
        }
        #expect(change.ttl == DurationText.parse(ttl))
    }

    @Test(arguments: [-1, 86_400_001, 1e300])
    func latencyOutsideZeroToADayIsRefused(latency: Double) {
        let result = body(
            .leftBracket, .health, ["executor": .string("e1"), "status": .string("up"), "latency_ms": .number(latency)])
        guard case .failure(let error) = result else {
            Issue.record("latency \(latency) accepted")
            return
        }
        #expect(error.message.contains("body.latency_ms") && error.message.contains("86400000"), "\(error)")
    }

    @Test func latencyWithinBoundsIsKept() {
        let result = body(
            .leftBracket, .health, ["executor": .string("e1"), "status": .string("up"), "latency_ms": .number(12.5)])
        guard case .success(.health(let report)) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(report.latencyMs == 12.5)
    }

    @Test func anArbitrationNamesAtMost64ExecutorsEachOnce() {
        let many = (0...64).map { JSONValue.string("e\($0)") }
        let tooMany = body(.rightBracket, .arbitration, ["executors": .array(many), "dissenters": .array([])])
        guard case .failure(let error) = tooMany else {
            Issue.record("65 executors accepted")
            return
        }
        #expect(error.message.contains("body.executors") && error.message.contains("at most 64"), "\(error)")

        let twice = body(
            .rightBracket, .arbitration,
            [
                "executors": .array([.string("e1"), .string("e2"), .string("e1"), .string("e3")]),
                "dissenters": .array([.string("e2"), .string("e2")]),
            ])
        guard case .success(.arbitration(let arbitration)) = twice else {
            Issue.record("\(twice)")
            return
        }
        #expect(arbitration.executors == ["e1", "e2", "e3"], "an executor named twice counts once")
        #expect(arbitration.dissenters == ["e2"])
    }
}
