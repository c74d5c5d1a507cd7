import Foundation
import JSON
import Testing

@Suite("The JSON writer")
struct JSONWriterTests {
    private func written(_ body: (inout JSONWriter) -> Void) throws -> Any {
        var writer = JSONWriter()
        body(&writer)
        return try JSONSerialization.jsonObject(with: Data(writer.bytes), options: [.fragmentsAllowed])
    }

    @Test("strings that need escaping read back as written; others are copied whole")
    func strings() throws {
        let samples = ["plain", "", "quote \" and backslash \\", "line\nfeed\r\ttab", "\u{01}\u{1F}", "ünïcødé ✓ 🎯", "/slash/"]
        let value = try written { w in w.array(samples) { w, text in w.string(text) } }
        #expect(value as? [String] == samples)
        var writer = JSONWriter()
        writer.string("\u{01}")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #""\u0001""#)
    }

    @Test("commas and nesting: objects in arrays in objects")
    func nesting() throws {
        let value = try written { w in
            w.object { w in
                w.key("empty"); w.array([Int]()) { _, _ in }
                w.key("rows")
                w.array([1, 2, 3]) { w, n in
                    w.object { w in
                        w.key("n"); w.integer(n)
                        w.key("inner"); w.object { _ in }
                    }
                }
                w.key("last"); w.null()
                w.key("x"); w.integer(1)
            }
        }
        let object = try #require(value as? [String: Any])
        #expect((object["empty"] as? [Any])?.isEmpty == true)
        let rows = try #require(object["rows"] as? [[String: Any]])
        #expect(rows.map { $0["n"] as? Int } == [1, 2, 3])
        #expect(object["last"] is NSNull)
        #expect(object["x"] as? Int == 1)
    }

    @Test("integers, 64-bit integers as strings, and numbers (non-finite as null)")
    func numbers() throws {
        let value = try written { w in
            w.array([0, 7, -42, Int(Int64.max), Int(Int64.min)]) { w, n in w.integer(n) }
        }
        #expect(value as? [Int64] == [0, 7, -42, Int64.max, Int64.min])
        let strings = try written { w in w.array([UInt64.max, 0, 8_572_699_483_223_998_295]) { w, n in w.integerString(n) } }
        #expect(strings as? [String] == ["18446744073709551615", "0", "8572699483223998295"])
        let doubles = try written { w in w.array([0.099000999000999, 1, -2.5, .nan, .infinity, nil]) { w, x in w.number(x) } }
        let read = try #require(doubles as? [Any])
        #expect(read[0] as? Double == 0.099000999000999)
        #expect(read[1] as? Double == 1)
        #expect(read[2] as? Double == -2.5)
        #expect(read[3...].allSatisfy { $0 is NSNull })
    }

    @Test("output longer than the first capacity grows the storage and keeps every byte")
    func growth() throws {
        let long = String(repeating: "x\"y", count: 700)
        var writer = JSONWriter(capacity: 16)
        writer.object { w in
            w.key("long"); w.string(long)
            w.key("ids"); w.array(0..<500) { w, n in w.integerString(UInt64(n) * 1_000_003) }
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any])
        #expect(object["long"] as? String == long)
        #expect((object["ids"] as? [String])?.last == String(499 * 1_000_003))
        #expect(writer.bytes.count == writer.count)
    }

    @Test("pretty output is indented, reads back to the same value, and leaves empty containers on one line")
    func pretty() throws {
        let value = JSONValue.object(["b": .array([.number(1), .object([:]), .array([])]), "a": .string("x"), "c": .null])
        let text = JSONWriter.text(of: value, pretty: true)
        #expect(text == """
            {
              "a": "x",
              "b": [
                1,
                {},
                []
              ],
              "c": null
            }
            """)
        #expect(JSONValue(parsing: text) == value)
        #expect(JSONWriter.text(of: value) == #"{"a":"x","b":[1,{},[]],"c":null}"#)
    }

    @Test("a JSONValue written and parsed again is the same value, keys sorted and escaped")
    func roundTrip() throws {
        let value = JSONValue.object([
            "quote\"key": .bool(true), "n": .number(-0.125), "big": .number(1e300), "nested": .object(["z": .array([.string("ü\n")])]),
        ])
        let text = value.text
        #expect(JSONValue(parsing: text) == value)
        #expect(text.hasPrefix(#"{"big":1e+300,"n":-0.125,"nested""#))
        #expect(JSONValue(parsing: "[1,") == nil, "text that is not JSON gives nil")
        #expect(JSONValue(parsing: "{} x") == nil, "trailing characters are refused")
    }
}

@Suite("RFC 3339 times")
struct RFC3339Tests {
    @Test("written in whole seconds, UTC; read back, offsets and fractions included")
    func roundTrip() {
        #expect(RFC3339.text(milliseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.text(milliseconds: 1_764_843_689_999) == "2025-12-04T10:21:29Z")
        #expect(RFC3339.text(milliseconds: 951_782_400_000) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.milliseconds("2000-02-29T00:00:00Z") == 951_782_400_000)
        #expect(RFC3339.milliseconds("2000-02-29T02:00:00.250+02:00") == 951_782_400_250)
        #expect(RFC3339.milliseconds("2000-02-29 00:00:00Z") == nil)
        for milliseconds in stride(from: Int64(-86_400_000), to: 4_000_000_000_000, by: 97_654_321_011) {
            #expect(RFC3339.milliseconds(RFC3339.text(milliseconds: milliseconds)) == milliseconds - ((milliseconds % 1000) + 1000) % 1000)
        }
    }
}
