import Foundation
import Shared
import Testing

/// The intake's fast path (FastJSON + `Envelope(json:)`) must agree with JSONDecoder or decline.
@Suite struct EnvelopeFastPathTests {
    func both(_ text: String) -> (fast: Envelope?, slow: Envelope?) {
        (
            FastJSON.parse(Array(text.utf8)).flatMap(Envelope.init(json:)),
            try? JSONDecoder().decode(Envelope.self, from: Data(text.utf8))
        )
    }

    @Test func agreesWithJSONDecoderWhenItAccepts() {
        let samples = [
            #"{"id":"a","app":"shop","source":"waf","type":"alert","body":{"executor":"e1","severity":"high","n":-1.5e3,"ok":true,"x":null,"l":[1,"two",{"3":[]}]}}"#,
            #" { "id" : "b\"\\\/\n\u00e9\ud83d\ude00" , "source":"admin","type":"rotate","body":{} , "time":"t", "app": null } "#,
            #"{"id":"c","source":"left_bracket","type":"health","body":{"executor":"e","status":"up","latency_ms":0}}"#,
        ]
        for sample in samples {
            let (fast, slow) = both(sample)
            #expect(fast != nil, "\(sample)")
            #expect(fast == slow, "\(sample)")
        }
    }

    @Test func declinesWhatJSONDecoderRejectsOrWhatItCannotJudge() {
        let samples = [
            #"{"id":"a","source":"waf","type":"alert","body":{}"#,
            #"{"id":"a","source":"waf","type":"alert","body":{}} x"#,
            #"{"id":1,"source":"waf","type":"alert","body":{}}"#,
            #"{"id":"a","source":"martian","type":"alert","body":{}}"#,
            #"{"id":"a","source":"waf","type":"alert"}"#,
            #"{"id":"a","source":"waf","type":"alert","body":{"n":01}}"#,
            #"{"id":"a","source":"waf","type":"alert","body":{"n":1.}}"#,
            #"{"id":"\ud800","source":"waf","type":"alert","body":{}}"#,
            "{\"id\":\"a\tb\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{}}",
            #"[{"id":"a","source":"waf","type":"alert","body":{}}]"#,
        ]
        for sample in samples {
            #expect(FastJSON.parse(Array(sample.utf8)).flatMap(Envelope.init(json:)) == nil, "\(sample)")
        }
    }
}
