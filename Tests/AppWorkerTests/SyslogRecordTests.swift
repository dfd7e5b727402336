import Shared
import Testing

@testable import AppWorker

/// The RFC 5424 text and RFC 6587 framing of one event, and the exporter's count of what the
/// stream trimmed before it was sent.
@Suite struct SyslogRecordTests {
    let origin = SyslogOrigin(app: "shop", facility: .local0, hostname: "node-a", procID: 4242)

    func transition(to state: String = "dirty", reason: String = "3 dissents in 60s") -> StreamEvent {
        StreamEvent(
            id: "1795999787497-0",
            fields: [
                "kind", "transition", "executor", "e3", "from", "online", "to", state, "reason", reason,
                "cause", "waf-1-000123", "time", "1795999787497",
            ])
    }

    @Test func aTransitionCarriesEveryFieldAsStructuredData() {
        #expect(
            SyslogRecord.text(transition(), origin: origin)
                == "<133>1 2026-11-30T00:49:47.497Z node-a mimic-worker 4242 transition "
                + #"[mimic@32473 app="shop" event_id="1795999787497-0" kind="transition" executor="e3" from="online" "#
                + #"to="dirty" reason="3 dissents in 60s" cause="waf-1-000123" time="1795999787497"] "#
                + "e3 online -> dirty: 3 dissents in 60s")
    }

    @Test func severityFollowsWhatTheEventMeans() {
        #expect(SyslogRecord.severity(transition(to: "dirty")) == 5)
        #expect(SyslogRecord.severity(transition(to: "standby")) == 6)
        #expect(SyslogRecord.severity(StreamEvent(id: "1-0", fields: ["kind", "dead_letter"])) == 4)
        #expect(SyslogRecord.severity(StreamEvent(id: "1-0", fields: ["kind", "gap"])) == 4)
        #expect(SyslogRecord.severity(StreamEvent(id: "1-0", fields: ["kind", "host", "to", "down"])) == 4)
        #expect(SyslogRecord.severity(StreamEvent(id: "1-0", fields: ["kind", "host", "to", "up"])) == 6)
        let daemon = SyslogOrigin(app: "shop", facility: .daemon, hostname: "h", procID: 1)
        #expect(SyslogRecord.text(transition(to: "standby"), origin: daemon).hasPrefix("<30>1 "))
    }

    @Test func quotesBackslashesAndBracketsInValuesAreEscaped() {
        let text = SyslogRecord.text(transition(reason: #"url "/a]b" matched \d+"#), origin: origin)
        #expect(text.contains(#"reason="url \"/a\]b\" matched \\d+""#))
        // The free-text part is not structured data: it stays as written.
        #expect(text.hasSuffix(#"e3 online -> dirty: url "/a]b" matched \d+"#))
    }

    @Test func theFrameCountsOctetsNotCharacters() {
        let event = transition(reason: "ablehnt: ü ✓")
        let frame = SyslogRecord.frame(event, origin: origin)
        let message = Array(SyslogRecord.text(event, origin: origin).utf8)
        #expect(frame == Array("\(message.count) ".utf8) + message)
        #expect(message.count > SyslogRecord.text(event, origin: origin).count)
    }

    @Test func headerFieldsAreCutToWhatRFC5424Allows() {
        #expect(SyslogRecord.headerToken("", limit: 32) == "-")
        #expect(SyslogRecord.headerToken("a b\tc", limit: 32) == "abc")
        #expect(SyslogRecord.headerToken(String(repeating: "k", count: 40), limit: 32).count == 32)
        #expect(SyslogRecord.parameterName(#"we"ird]=name with spaces and more than thirty-two"#).count == 32)
        #expect(SyslogRecord.parameterName(#"a"b]c=d e"#) == "abcde")
        #expect(SyslogOrigin(app: "shop", facility: .local0, hostname: "a host", procID: 1).hostname == "ahost")
    }

    @Test func timestampsOutsideWhatRFC3339CarriesAreNil() {
        #expect(SyslogRecord.timestamp(unixMillis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(SyslogRecord.timestamp(unixMillis: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(SyslogRecord.timestamp(unixMillis: 253_402_300_800_000) == nil)
        #expect(SyslogRecord.timestamp(unixMillis: -1) == nil)
        let event = StreamEvent(id: "1-0", fields: ["kind", "note", "time", "not a number", "reason", "r"])
        #expect(SyslogRecord.text(event, origin: origin).hasPrefix("<134>1 - node-a "))
    }

    // MARK: what the stream trimmed

    func events(_ count: Int) -> [StreamEvent] {
        (0..<count).map { StreamEvent(id: "\($0 + 1)-0", fields: ["kind", "note"]) }
    }

    @Test func theFirstReadCountsNothingTheStreamTrimmedBeforeExportBegan() {
        let batch = EventStreamCursor.batch(events: events(3), after: ExportCursor(), length: 3, added: 10)
        #expect(batch == .init(events: events(3), firstOrdinal: 8, trimmed: 0))
    }

    @Test func aCursorTheStreamStillHoldsDropsNothing() {
        let cursor = ExportCursor(lastID: "7-0", ordinal: 7, dropped: 2)
        let batch = EventStreamCursor.batch(events: events(3), after: cursor, length: 5, added: 10)
        #expect(batch == .init(events: events(3), firstOrdinal: 8, trimmed: 0))
    }

    @Test func eventsTrimmedAfterTheCursorAreCountedOnce() {
        let cursor = ExportCursor(lastID: "4-0", ordinal: 4)
        // Ordinals 5...7 are gone: the stream holds 8...10.
        let batch = EventStreamCursor.batch(events: events(3), after: cursor, length: 3, added: 10)
        #expect(batch == .init(events: events(3), firstOrdinal: 8, trimmed: 3))
        // An emptied stream: everything after the cursor is gone, the next one is 11.
        let emptied = EventStreamCursor.batch(events: [], after: cursor, length: 0, added: 10)
        #expect(emptied == .init(events: [], firstOrdinal: 11, trimmed: 6))
    }

    @Test func aStreamBehindTheCursorIsNotADrop() {
        // Redis restored from an older copy: fewer entries were ever added than the cursor counted.
        let cursor = ExportCursor(lastID: "9-0", ordinal: 9)
        let batch = EventStreamCursor.batch(events: events(1), after: cursor, length: 4, added: 5)
        #expect(batch == .init(events: events(1), firstOrdinal: 10, trimmed: 0))
        let nonsense = EventStreamCursor.batch(events: [], after: cursor, length: 9, added: 2)
        #expect(nonsense.trimmed == 0)
        let extreme = EventStreamCursor.batch(events: [], after: cursor, length: Int64.min, added: Int64.max)
        #expect(extreme.trimmed == 0)
        let allGone = EventStreamCursor.batch(events: [], after: cursor, length: 0, added: Int64.max)
        #expect(allGone.trimmed == 0)
    }
}
