import Foundation
import TestSupport
import Testing

/// The situational-awareness page in a real headless Chromium against a real listener, workers and
/// Redis: loaded once, it must follow state changes made while it is open.
@Suite(.serialized, .runsAlone) struct SituationPageBrowserTests {
    /// Kept for a human to look at (`test-artifacts/` is in .gitignore).
    static let screenshotPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("test-artifacts/situation-page.png").path

    @Test func thePageFollowsExecutorAndHostChanges() throws {
        let probe = try ProbeTarget()
        let fixture = try ListenerFixture(apps: ["shop"], probePorts: ["shop": probe.port])
        try fixture.start(apps: ["shop"])
        let db = fixture.db("shop")
        #expect(
            try eventually(timeout: 20) {
                try fixture.redis.cliRaw(["SCARD", "mimic:shop:state:online"], db: db) == ["1"]
            })
        let online = try #require(try fixture.redis.cliRaw(["SMEMBERS", "mimic:shop:state:online"], db: db).first)

        let browser = try HeadlessChromium()
        defer { browser.quit() }
        try browser.open("http://127.0.0.1:\(fixture.adminPort)/?every=300")
        let shop = "document.querySelector('section[data-app=\"shop\"]')"
        #expect(
            try browser.waitUntil("!!\(shop)?.querySelector('tr[data-executor=\"\(online)\"][data-state=\"online\"]')"),
            "the page shows the online executor: \(browser.text("document.body.innerText"))")
        #expect(
            try browser.evaluate(
                "\(shop).querySelector('[data-host=\"local-shop\"][data-host-status]').dataset.hostStatus") as? String
                == "up")
        #expect(try browser.evaluate("document.getElementById('connection').dataset.connection") as? String == "live")
        let row = "\(shop).querySelector('tr[data-executor=\"\(online)\"]')"
        #expect(
            try browser.evaluate("\(row).querySelector('td.endpoint').textContent") as? String
                == (try fixture.redis.cliRaw(["HGET", "mimic:shop:exec:\(online)", "endpoint"], db: db).first))

        // An operator takes the online executor offline while the page is open.
        let message =
            #"{"id":"page-1","app":"shop","source":"admin","type":"set_state","body":{"executor":"\#(online)","state":"offline","reason":"page test"}}"#
        #expect(try fixture.http("POST", "/v1/events", body: message).status == 202)
        #expect(
            try eventually(timeout: 10) {
                try fixture.redis.cliRaw(["HGET", "mimic:shop:exec:\(online)", "state"], db: db) == ["offline"]
            })
        #expect(
            try browser.waitUntil(
                "!!\(shop).querySelector('[data-state-group=\"offline\"] tr[data-executor=\"\(online)\"][data-state=\"offline\"]')"
            ),
            "the executor moved to the offline group: \(browser.text("\(shop).innerText"))")
        #expect(
            try browser.waitUntil(
                "!!\(shop).querySelector('.timeline li[data-executor=\"\(online)\"][data-to=\"offline\"]')"),
            "the timeline shows the transition")
        // Clicking the executor shows why it is there: the operator's message that moved it.
        _ = try browser.evaluate("\(shop).querySelector('tr[data-executor=\"\(online)\"] td.since').click()")
        #expect(
            try browser.waitUntil(
                "document.getElementById('why')?.dataset.executor === '\(online)' && "
                    + "!!document.querySelector('#why .why-events li[data-cause=\"page-1\"]')"),
            "the why panel: \(browser.text("document.getElementById('why')?.innerText"))")

        // The host fails its probe: the page shows it down.
        probe.kill()
        #expect(
            try browser.waitUntil(
                "\(shop).querySelector('[data-host=\"local-shop\"][data-host-status]')?.dataset.hostStatus === 'down'",
                timeout: 20),
            "host down on the page: \(browser.text("\(shop).innerText"))")
        #expect(try fixture.redis.cliRaw(["HGET", "mimic:shop:host:local-shop", "status"], db: db) == ["down"])
        // The fleet overview above the details says the same in one line.
        let overview = "document.querySelector('#overview tr[data-overview-app=\"shop\"]')"
        #expect(
            try browser.waitUntil(
                "\(overview)?.dataset.healthy === 'false' && \(overview).querySelector('[data-hosts-down]').dataset.hostsDown === '1'"
            ),
            "overview: \(browser.text("\(overview)?.innerText"))")
        let offline = try fixture.redis.cliRaw(["SCARD", "mimic:shop:state:offline"], db: db).first
        #expect(
            try browser.waitUntil(
                "\(overview).querySelector('[data-count=\"offline\"]').textContent === '\(offline ?? "")'"),
            "overview offline count \(offline ?? "-"): \(browser.text("\(overview)?.innerText"))")
        try browser.screenshot(to: Self.screenshotPath)

        // The listener goes away: the page keeps the last picture and says it is stale.
        #expect(fixture.terminate())
        #expect(try browser.waitUntil("document.getElementById('connection').dataset.connection === 'lost'"))
        #expect(try browser.evaluate("!!\(shop)") as? Bool == true)
    }
}

extension HeadlessChromium {
    /// For failure messages: what the page shows, or why it could not be read.
    func text(_ expression: String) -> String {
        do {
            return "\(try evaluate(expression) ?? "nil")"
        } catch {
            return "(unreadable: \(error))"
        }
    }
}
