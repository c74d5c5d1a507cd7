/// A member value `JSONParser.readFlatObjects` hands over.
public enum FlatValue {
    case string(String)
    case number(Double)
}

/// Receives the objects of a flat-object body one member at a time.
public protocol FlatObjectReader {
    /// A member of the current object; `key` indexes the names given to
    /// `readFlatObjects`. False when the value is not what the body type
    /// expects there (the body is then parsed the general way).
    mutating func member(_ key: Int, _ value: FlatValue) -> Bool
    /// The end of the current object; false as for `member`.
    mutating func endObject() -> Bool
}

extension JSONParser {
    /// The fast path for bodies of one shape, `{"<field>": [{...}, ...]}`
    /// whose objects hold only members named in `keys`, each at most once,
    /// each a string or a number: their members go to `reader` as they are
    /// read, without a `JSONValue` tree (whose per-object dictionaries cost
    /// the feedback route most of its request parsing).
    ///
    /// Returns false for any other body, valid or not; the caller then parses
    /// it with `parse`, which gives the errors. It accepts nothing `parse`
    /// would refuse: strings, numbers and whitespace are read by the same code.
    public static func readFlatObjects<Reader: FlatObjectReader>(
        _ bytes: UnsafeBufferPointer<UInt8>, field: StaticString, keys: [StaticString], into reader: inout Reader
    ) -> Bool {
        var parser = JSONParser(bytes)
        do {
            return try parser.flatObjects(field: field, keys: keys, into: &reader)
        } catch {
            return false
        }
    }

    /// The same fast path for a body that is one flat object, `{...}`,
    /// whose members are named in `keys` (each at most once), each a string
    /// or a number. Returns false for any other body; the caller then parses
    /// it with `parse`, which gives the errors.
    public static func readFlatObject<Reader: FlatObjectReader>(
        _ bytes: UnsafeBufferPointer<UInt8>, keys: [StaticString], into reader: inout Reader
    ) -> Bool {
        var parser = JSONParser(bytes)
        do {
            parser.skipWhitespace()
            guard try parser.flatObject(keys: keys, into: &reader) else { return false }
            parser.skipWhitespace()
            return parser.index == bytes.count
        } catch {
            return false
        }
    }

    private mutating func flatObjects<Reader: FlatObjectReader>(
        field: StaticString, keys: [StaticString], into reader: inout Reader
    ) throws(SyntaxError) -> Bool {
        skipWhitespace()
        guard consume(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        guard name(among: [field]) == 0 else { return false }
        skipWhitespace()
        guard consume(UInt8(ascii: ":")) else { return false }
        skipWhitespace()
        guard consume(UInt8(ascii: "[")) else { return false }
        skipWhitespace()
        if !consume(UInt8(ascii: "]")) {
            while true {
                skipWhitespace()
                guard try flatObject(keys: keys, into: &reader) else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "]")) else { return false }
                break
            }
        }
        skipWhitespace()
        guard consume(UInt8(ascii: "}")) else { return false }
        skipWhitespace()
        return index == bytes.count
    }

    private mutating func flatObject<Reader: FlatObjectReader>(keys: [StaticString], into reader: inout Reader) throws(SyntaxError) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        var seen: UInt64 = 0
        if !consume(UInt8(ascii: "}")) {
            while true {
                skipWhitespace()
                guard let key = name(among: keys), key < 64, seen & (1 << key) == 0 else { return false }
                seen |= 1 << key
                skipWhitespace()
                guard consume(UInt8(ascii: ":")) else { return false }
                skipWhitespace()
                guard index < bytes.count else { return false }
                let value: FlatValue
                switch bytes[index] {
                case UInt8(ascii: "\""): value = .string(try string())
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): value = .number(try number())
                default: return false
                }
                guard reader.member(key, value) else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "}")) else { return false }
                break
            }
        }
        return reader.endObject()
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Reads a member name written exactly as one of `names` (no escapes) and
    /// returns its index; nil, having read nothing, for any other name.
    private mutating func name(among names: [StaticString]) -> Int? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        for (position, name) in names.enumerated() {
            let count = name.utf8CodeUnitCount
            let end = index + 1 + count
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { continue }
            if (0..<count).allSatisfy({ bytes[index + 1 + $0] == name.utf8Start[$0] }) {
                index = end + 1
                return position
            }
        }
        return nil
    }
}
