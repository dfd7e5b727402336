import Foundation
import Logging
import Testing

@testable import Shared

/// The log line is written by hand (no JSONSerialization); these pin that it stays one valid JSON
/// object per line whatever the metadata holds.
struct JSONLogLineTests {
    @Test func aLineIsOneJSONObjectWithItsKeysSortedAndItsTextEscaped() throws {
        let fields: [String: Logger.Metadata.Value] = [
            "message": "quote \" backslash \\ newline \n tab \t bell \u{07} é 漢",
            "level": "info",
            "executor": .stringConvertible(42),
            "list": .array(["a", .dictionary(["z": "1", "b": "2"])]),
            "app": "shop",
        ]
        let line = JSONLogHandler.line(fields)
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false, "a newline inside a value must be escaped")
        let text = String(decoding: line.dropLast(), as: UTF8.self)
        #expect(
            text.hasPrefix(
                "{\"app\":\"shop\",\"executor\":\"42\",\"level\":\"info\",\"list\":[\"a\",{\"b\":\"2\",\"z\":\"1\"}],"))
        #expect(text.contains("\\u0007"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["message"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{07} é 漢")
        #expect(object["executor"] as? String == "42")
    }

    @Test func theTimestampIsRFC3339WithMilliseconds() {
        let stamp = JSONLogHandler.timestamp()
        #expect(stamp.utf8.count == 24)
        #expect(stamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = parser.date(from: stamp)
        #expect(parsed.map { abs($0.timeIntervalSinceNow) < 5 } == true)
    }

    @Test func escapingMatchesWhatAJSONParserReadsBack() throws {
        var text = ""
        for scalar in 0..<0x80 { text.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        let quoted = JSONString.quoted(text)
        let decoded = try JSONDecoder().decode(String.self, from: Data(quoted.utf8))
        #expect(decoded == text)
    }
}
