import Foundation

/// `GET /`: the apps at a glance, refreshed every two seconds.
enum SituationPage {
    static func render(_ apps: [[String: Any]]) -> String {
        var rows = ""
        for app in apps {
            let worker = app["worker"] as? [String: Any] ?? [:]
            let journal = app["journal"] as? [String: Any] ?? [:]
            let rates = app["rates"] as? [String: Any] ?? [:]
            let cells: [Any] = [
                app["app"] ?? "", worker["state"] ?? "", worker["pid"] ?? "", worker["connected"] ?? "",
                journal["backlog_messages"] ?? 0, journal["backlog_bytes"] ?? 0,
                app["last_delivered_seq"] ?? 0, app["last_acked_seq"] ?? 0,
                rates["accepted_per_s"] ?? 0, rates["acked_per_s"] ?? 0,
            ]
            rows += "<tr>" + cells.map { "<td>\(escape("\($0 is NSNull ? "-" : $0)"))</td>" }.joined() + "</tr>\n"
        }
        return """
        <!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
        <title>mimic-listener</title>
        <style>body{font-family:sans-serif}td,th{padding:4px 10px;border-bottom:1px solid #ccc}</style></head>
        <body><h1>mimic-listener</h1><table>
        <tr><th>app</th><th>worker</th><th>pid</th><th>connected</th><th>backlog msgs</th><th>backlog bytes</th>
        <th>delivered seq</th><th>acked seq</th><th>accepted/s</th><th>acked/s</th></tr>
        \(rows)</table><p>JSON: <a href="/v1/apps">/v1/apps</a> · <a href="/metrics">/metrics</a></p></body></html>
        """
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
