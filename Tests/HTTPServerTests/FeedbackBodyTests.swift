import Engine
@testable import HTTPServer
import PluginHost
import Testing

@Suite("Feedback bodies: the fast reader agrees with the general one")
struct FeedbackBodyTests {
    /// The events each reader makes of `text`: the fast one (nil when it
    /// declines the body) and the general one (nil when it refuses it).
    private func read(_ text: String) -> (fast: [String]?, general: [String]?) {
        let bytes = Array(text.utf8)
        let fast = bytes.withUnsafeBufferPointer { FeedbackRequest.read(common: $0) }
        let general = try? FeedbackRequest(json: JSONParser.parse(bytes), path: "")
        func describe(_ request: FeedbackRequest?) -> [String]? {
            request?.events.map { "\($0.eventID)|\($0.decisionID)|\($0.reward.bitPattern)|\($0.weight.bitPattern)" }
        }
        return (describe(fast), describe(general))
    }

    @Test("bodies of the usual shape are read the fast way, to the same events", arguments: [
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1}]}"#,
        #" { "events" : [ { "event_id" : "e1" , "decision_id" : "d1" , "reward" : 0.25 , "weight" : 2 } ,"# +
            #" {"reward":-0,"decision_id":"d2","event_id":"e2"} ] } "#,
        #"{"events":[]}"#,
        #"{"events":[{"event_id":"caf\u00e9 \"q\"","decision_id":"é😀","reward":1e-3}]}"#,
        #"{"events":[{"event_id":"","decision_id":"not-an-id","reward":5e300}]}"#,
        #"{"events":[{"event_id":"tab\u0009","decision_id":"d","reward":1}]}"#,
    ])
    func usual(_ text: String) {
        let (fast, general) = read(text)
        #expect(fast != nil, "the fast reader takes it")
        #expect(fast == general)
    }

    @Test("anything else is left to the general reader, which gives the error or the same events", arguments: [
        // Valid, but not the usual shape.
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1,"weight":null}]}"#,
        #"{"events":[{"event_id":"e1","event_id":"e2","decision_id":"d1","reward":1}]}"#,
        #"{"events":[{"event\u005fid":"e1","decision_id":"d1","reward":1}]}"#,
        // Refused by the general reader, each for a field it names.
        #"{"events":[{"event_id":"e1","decision_id":"d1"}]}"#,
        #"{"events":[{"event_id":1,"decision_id":"d1","reward":1}]}"#,
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":"1"}]}"#,
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":true}]}"#,
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1,"extra":0}]}"#,
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1}],"more":1}"#,
        #"{"events":{}}"#, #"{"events":[[]]}"#, #"{"events":[1]}"#, #"[]"#, #"{}"#,
        // Not JSON at all.
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1}]}x"#,
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1},]}"#,
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":01}]}"#,
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1e999}]}"#,
        "{\"events\":[{\"event_id\":\"e\u{01}\",\"decision_id\":\"d1\",\"reward\":1}]}",
        #"{"events":[{"event_id":"\ud800","decision_id":"d1","reward":1}]}"#,
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1}"#,
    ])
    func other(_ text: String) {
        let (fast, general) = read(text)
        #expect(fast == nil)
        if text.contains("null") || text.contains(#""event_id":"e2""#) || text.contains("005f") {
            #expect(general != nil, "valid for the general reader")
        }
    }

    @Test("invalid UTF-8 inside an event id is refused by both readers")
    func invalidUTF8() {
        var bytes = Array(#"{"events":[{"event_id":"e"#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#"","decision_id":"d1","reward":1}]}"#.utf8)
        #expect(bytes.withUnsafeBufferPointer { FeedbackRequest.read(common: $0) } == nil)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(bytes) }
    }
}
