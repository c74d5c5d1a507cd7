import Engine
@testable import HTTPServer
import Hummingbird
import JSON
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
        #"{"events":[{"event_id":"e1","event_id":"e2","decision_id":"d1","reward":1}]}"#,
        #"{"events":[{"event\u005fid":"e1","decision_id":"d1","reward":1}]}"#,
        // Refused by the general reader, each for a field it names (no
        // member of a request may be null).
        #"{"events":[{"event_id":"e1","decision_id":"d1","reward":1,"weight":null}]}"#,
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
        if text.contains(#""event_id":"e2""#) || text.contains("005f") {
            #expect(general != nil, "valid for the general reader")
        } else {
            #expect(general == nil, "refused by the general reader")
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

@Suite("Feedback answers: a request none of whose events was stored is a 4xx")
struct FeedbackRefusalTests {
    @Test("the status and the field come from the events' rejections")
    func refusal() throws {
        let unknown = FeedbackOutcome.rejected("u", .unknownDecision, "unknown decision_id '7'")
        let gone = FeedbackOutcome.rejected("g", .strategyUnavailable, "strategy 'x' cannot learn now: not loaded")
        let bad = FeedbackOutcome.rejected("b", .invalid(.weight), "weight must be a finite number >= 0")
        let accepted = FeedbackOutcome(eventID: "a", status: .accepted)
        let duplicate = FeedbackOutcome(eventID: "d", status: .duplicate)

        #expect(FeedbackResponse.refusal(of: []) == nil)
        #expect(FeedbackResponse.refusal(of: [unknown, accepted]) == nil)
        #expect(FeedbackResponse.refusal(of: [duplicate, bad]) == nil)

        let notFound = try #require(FeedbackResponse.refusal(of: [unknown, unknown]))
        #expect(notFound.status == .notFound && notFound.field == "events[0].decision_id")
        let conflict = try #require(FeedbackResponse.refusal(of: [unknown, gone]))
        #expect(conflict.status == .conflict && conflict.field == "events[1].decision_id")
        let invalid = try #require(FeedbackResponse.refusal(of: [unknown, gone, bad]))
        #expect(invalid.status == .badRequest && invalid.field == "events[2].weight")
        #expect(invalid.message == "none of the 3 events was stored (see results); events[2]: weight must be a finite number >= 0")
        let single = try #require(FeedbackResponse.refusal(of: [gone]))
        #expect(single.message == "the event was not stored: strategy 'x' cannot learn now: not loaded")
    }

    @Test("the refusal's body holds the error and every event's result")
    func body() throws {
        let outcomes = [FeedbackOutcome.rejected("u", .unknownDecision, "unknown decision_id '7'")]
        var writer = JSONWriter()
        FeedbackResponse(results: outcomes, error: FeedbackResponse.refusal(of: outcomes)).write(to: &writer)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text == #"{"error":{"code":"not_found","field":"events[0].decision_id","message":"the event was not stored: unknown decision_id '7'","status":404},"results":[{"event_id":"u","status":"rejected","reason":"unknown decision_id '7'"}]}"#)
    }
}
