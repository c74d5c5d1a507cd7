import Foundation
import JSON
import Testing

@Suite("The JSON parser")
struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test("values of every kind")
    func values() throws {
        #expect(try parse(#" {"a": [1, -2.5e3, true, false, null, "x"], "b": {}} "#)
            == .object(["a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x")]), "b": .object([:])]))
        #expect(try parse("0") == .number(0))
        #expect(try parse("-0.0e-0") == .number(-0.0))
        #expect(try parse("[]") == .array([]))
        #expect(try parse(#""\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#) == .string("\"\\/\u{08}\u{0C}\n\r\té😀"))
        #expect(try parse("\"caf\u{e9} \u{1F600}\"") == .string("café 😀"))
    }

    @Test("invalid documents are refused with the offset", arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "[1 2]", "01", "1.", ".5", "1e", "+1", "NaN", "Infinity", "1e999",
        "-", "tru", "nul", "\"abc", "\"a\u{01}b\"", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00x""#, "{} {}", "[1]]",
        "{\"a\":1}x", "'a'",
    ])
    func invalid(_ text: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try parse(text) }
    }

    @Test("invalid UTF-8 and deep nesting are refused")
    func limits() {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse([UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")]) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParser.SyntaxError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(fine) }
    }

    /// The value as Foundation's objects, for JSONSerialization (an
    /// independent writer and reader to check ours against).
    static func foundation(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case let .bool(bool): bool
        case let .number(number): number
        case let .string(string): string
        case let .array(elements): elements.map(foundation)
        case let .object(members): members.mapValues(foundation)
        }
    }

    @Test("random documents round-trip: Foundation's writer to our parser, our writer to Foundation's reader")
    func roundTrip() throws {
        // SplitMix64, seeded: the same documents on every run.
        struct Seeds {
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }
        var seeds = Seeds(state: 7)
        func random(_ depth: Int) -> JSONValue {
            let kind = seeds.next() % (depth > 3 ? 4 : 6)
            switch kind {
            case 0: return .null
            case 1: return .bool(seeds.next() % 2 == 0)
            case 2:
                let value = Double(Int64(bitPattern: seeds.next()) % 1_000_000) / Double(seeds.next() % 1000 + 1)
                return .number(value)
            case 3:
                let scalars = (0..<Int(seeds.next() % 12)).map { _ in
                    Character(Unicode.Scalar([0x22, 0x5C, 0x0A, 0x41, 0xE9, 0x4E2D, 0x1F600, 0x01][Int(seeds.next() % 8)])!)
                }
                return .string(String(scalars))
            case 4: return .array((0..<Int(seeds.next() % 5)).map { _ in random(depth + 1) })
            default:
                var members: [String: JSONValue] = [:]
                for index in 0..<Int(seeds.next() % 5) { members["k\(index)\u{e9}"] = random(depth + 1) }
                return .object(members)
            }
        }
        for _ in 0..<500 {
            let value = random(0)
            let encoded = try JSONSerialization.data(withJSONObject: Self.foundation(value), options: [.fragmentsAllowed])
            #expect(try JSONParser.parse(Array(encoded)) == value)
            let written = Data(value.text.utf8)
            let read = try JSONSerialization.jsonObject(with: written, options: [.fragmentsAllowed])
            let again = try JSONSerialization.data(withJSONObject: read, options: [.fragmentsAllowed, .sortedKeys])
            let expected = try JSONSerialization.data(withJSONObject: Self.foundation(value), options: [.fragmentsAllowed, .sortedKeys])
            #expect(again == expected, "\(value.text)")
        }
    }
}
