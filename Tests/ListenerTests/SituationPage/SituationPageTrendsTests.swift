import Foundation
import TestSupport
import Testing

/// The page's trend charts (issue 18 item 3), drawn from the listener's samples: after traffic,
/// each app's rate and latency charts have lines with points, and the browser paints them; the
/// blacklist shows its entries with their expiries.
extension SituationPageBrowserTests {
    static let trendsScreenshotPath = URL(fileURLWithPath: screenshotPath).deletingLastPathComponent()
        .appendingPathComponent("situation-page-trends.png").path

    @Test func thePageDrawsTheTrendsOfAnApp() throws {
        let fixture = try ListenerFixture(apps: ["shop"], extraConfig: "trend_interval: 1s")
        try fixture.start(apps: ["shop"])
        let browser = try HeadlessChromium()
        defer { browser.quit() }
        try browser.open("http://127.0.0.1:\(fixture.adminPort)/?every=300")

        // Traffic over a few sampling intervals, so several intervals have decisions.
        for index in 1...12 {
            let reply = try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "trend-\(index)"))
            #expect(reply.status == 202, "\(reply.body)")
            Thread.sleep(forTimeInterval: 0.25)
        }
        #expect(try eventually { try fixture.ackedSeq("shop") == 12 })
        struct Trends: Decodable {
            struct Point: Decodable {
                var acceptedPerS: Double
                var appliedPerS: Double
                var latencyP50S: Double?
            }
            var intervalS: Double
            var points: [Point]
        }
        #expect(
            try eventually(timeout: 10) {
                let decoder = JSONDecoder()
                decoder.keyDecodingStrategy = .convertFromSnakeCase
                let answer = try decoder.decode(
                    Trends.self, from: Data(fixture.http("GET", "/v1/apps/shop/trends").body.utf8))
                return answer.intervalS == 1 && answer.points.contains { $0.acceptedPerS > 0 }
                    && answer.points.contains { $0.appliedPerS > 0 }
                    && answer.points.filter { $0.latencyP50S != nil }.count >= 2
            }, "the listener's samples: \((try? fixture.http("GET", "/v1/apps/shop/trends").body) ?? "-")")
        #expect(try fixture.http("GET", "/v1/apps/nope/trends").status == 404)

        let charts = "document.querySelector('section[data-app=\"shop\"] .trends')"
        func path(_ chart: String, _ series: String) -> String {
            "\(charts)?.querySelector('svg[data-chart=\"\(chart)\"] path[data-series=\"\(series)\"]')"
        }
        #expect(
            try browser.waitUntil(
                "Number(\(path("rates", "accepted_per_s"))?.dataset.points) >= 2"
                    + " && Number(\(path("rates", "applied_per_s"))?.dataset.points) >= 2"
                    + " && Number(\(path("latency", "latency_p50_s"))?.dataset.points) >= 2"
                    + " && Number(\(path("latency", "latency_p99_s"))?.dataset.points) >= 2", timeout: 15),
            "charts with points: \(browser.text("\(charts)?.innerHTML"))")
        // Painted, not only present: the browser finds the accepted line at a point along it.
        let hit = try browser.evaluate(
            """
            (() => {
              const path = \(path("rates", "accepted_per_s"));
              path.scrollIntoView({ block: "center" });
              const point = path.getPointAtLength(path.getTotalLength() / 2);
              const matrix = path.getScreenCTM();
              const x = point.x * matrix.a + point.y * matrix.c + matrix.e;
              const y = point.x * matrix.b + point.y * matrix.d + matrix.f;
              const found = document.elementFromPoint(x, y);
              // The applied line may lie on top of it (same rate): either is a painted series.
              return found instanceof SVGPathElement && found.ownerSVGElement === path.ownerSVGElement;
            })()
            """)
        #expect(hit as? Bool == true, "the accepted line is painted")

        // The blacklist with its expiry, next to the charts.
        let list =
            #"{"id":"trend-list","app":"shop","source":"admin","type":"list","body":{"list":"blacklist","op":"add","url":"/admin/*","ttl":"1h"}}"#
        #expect(try fixture.http("POST", "/v1/events", body: list).status == 202)
        let entry =
            "document.querySelector('section[data-app=\"shop\"] [data-list=\"blacklist\"] li[data-url=\"/admin/*\"]')"
        #expect(
            try browser.waitUntil(
                "\(entry)?.querySelector('.expiry')?.textContent.startsWith('expires in 59m') === true"),
            "blacklist on the page: \(browser.text("document.querySelector('section[data-app=\"shop\"] .lists')?.innerText"))"
        )
        #expect(
            try browser.evaluate(
                "document.querySelector('section[data-app=\"shop\"] [data-list=\"blacklist\"]').dataset.total")
                as? String == "1")
        try browser.screenshot(to: Self.trendsScreenshotPath)
    }
}
