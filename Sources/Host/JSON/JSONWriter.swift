/// The one JSON writer of the host: every response body, every JSON document
/// a command prints, and `JSONValue.text`. It writes straight into bytes:
/// on the hot routes (decide, feedback, predict) going through `Encodable`
/// and `JSONEncoder` cost more than the decision itself (measured with perf
/// under wrk). Commas are placed automatically.
///
/// The bytes go into storage of its own, grown by doubling: an array's
/// per-append checks (uniqueness, capacity, count) were a measurable part of
/// a decision's response. Not copyable, so the storage has one owner.
public struct JSONWriter: ~Copyable {
    @usableFromInline var storage: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    /// Bytes written so far.
    public private(set) var count = 0
    /// How many containers are open.
    @usableFromInline var depth = 0
    /// Bit `d` is set when the open container at depth `d + 1` holds a value
    /// already (a comma goes before the next one). A register, not an array:
    /// documents nest a few levels, never 64.
    @usableFromInline var filled: UInt64 = 0
    /// Set between a member's key and its value (no comma, no line break).
    @usableFromInline var afterKey = false
    /// Indented output, for people (two spaces per level).
    public let pretty: Bool

    /// - Parameters:
    ///   - capacity: bytes reserved at first.
    ///   - pretty: one member or element per line, indented.
    public init(capacity: Int = 256, pretty: Bool = false) {
        self.capacity = max(capacity, 16)
        self.pretty = pretty
        storage = .allocate(capacity: self.capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// The bytes written so far.
    public var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: storage, count: count))
    }

    /// The bytes written so far, as text.
    public var text: String {
        String(decoding: UnsafeBufferPointer(start: storage, count: count), as: UTF8.self)
    }

    /// Calls `body` with the bytes written so far (valid during the call only).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: count))
    }

    /// The JSON text of a value.
    public static func text(of value: some JSONWritable, pretty: Bool = false) -> String {
        var writer = JSONWriter(pretty: pretty)
        value.write(to: &writer)
        return writer.text
    }

    // MARK: Bytes

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        var larger = capacity * 2
        while larger < needed { larger *= 2 }
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.initialize(from: storage, count: count)
        storage.deallocate()
        storage = moved
        capacity = larger
    }

    @inline(__always)
    private mutating func put(_ byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count += 1
    }

    private mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (storage + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    private mutating func put(_ text: StaticString) {
        text.withUTF8Buffer { put($0) }
    }

    /// A line break and the indentation of the current depth (pretty output).
    private mutating func newline() {
        put(UInt8(ascii: "\n"))
        for _ in 0..<depth { put("  ") }
    }

    // MARK: Structure

    private var innermost: UInt64 { 1 << UInt64(depth - 1) }

    private mutating func separate() {
        guard depth > 0 else { return }
        if afterKey {
            afterKey = false
            return
        }
        if filled & innermost != 0 { put(UInt8(ascii: ",")) }
        filled |= innermost
        if pretty { newline() }
    }

    @usableFromInline
    mutating func open(_ bracket: UInt8) {
        separate()
        put(bracket)
        precondition(depth < 64, "JSONWriter nests at most 64 containers")
        depth += 1
        filled &= ~innermost
    }

    @usableFromInline
    mutating func close(_ bracket: UInt8) {
        let empty = filled & innermost == 0
        depth -= 1
        if pretty, !empty { newline() }
        put(bracket)
    }

    /// An object; `body` writes its members (`key`, then the value).
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        open(UInt8(ascii: "{"))
        body(&self)
        close(UInt8(ascii: "}"))
    }

    /// An array of `elements`, each written by `body`. Inlinable, so that it
    /// is specialized where it is called (in other modules, generic code
    /// walks the sequence through its witness table: the arms of an audit
    /// snapshot cost more than the rest of it).
    @inlinable
    public mutating func array<S: Sequence>(_ elements: S, _ body: (inout JSONWriter, S.Element) -> Void) {
        open(UInt8(ascii: "["))
        for element in elements { body(&self, element) }
        close(UInt8(ascii: "]"))
    }

    /// An array of values that write themselves.
    @inlinable
    public mutating func array<S: Sequence>(_ elements: S) where S.Element: JSONWritable {
        array(elements) { writer, element in element.write(to: &writer) }
    }

    /// A member's key; the value written next belongs to it.
    public mutating func key(_ name: StaticString) {
        separate()
        // Through `withUTF8Buffer`: a one-character literal is held as a
        // scalar, without the pointer `utf8Start` needs.
        name.withUTF8Buffer { utf8 in
            reserve(utf8.count + 4)
            storage[count] = UInt8(ascii: "\"")
            if let source = utf8.baseAddress { (storage + count + 1).initialize(from: source, count: utf8.count) }
            count += utf8.count + 1
        }
        storage[count] = UInt8(ascii: "\"")
        storage[count + 1] = UInt8(ascii: ":")
        count += 2
        if pretty { put(UInt8(ascii: " ")) }
        afterKey = true
    }

    /// A member's key that is not a literal (the members of a `JSONValue` object).
    public mutating func key(_ name: String) {
        string(name)
        put(UInt8(ascii: ":"))
        if pretty { put(UInt8(ascii: " ")) }
        afterKey = true
    }

    // MARK: Values

    /// A value that writes itself.
    public mutating func value(_ value: some JSONWritable) {
        value.write(to: &self)
    }

    /// A value that writes itself, or null.
    public mutating func value(_ value: (some JSONWritable)?) {
        if let value { value.write(to: &self) } else { null() }
    }

    public mutating func string(_ value: String) {
        separate()
        put(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            // Most strings need no escaping: copy them whole.
            if !utf8.contains(where: Self.needsEscape) {
                put(utf8)
                return
            }
            for byte in utf8 {
                guard Self.needsEscape(byte) else {
                    put(byte)
                    continue
                }
                put(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): put(byte)
                case UInt8(ascii: "\n"): put(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): put(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): put(UInt8(ascii: "t"))
                default:
                    put("u00")
                    put(Self.hexDigit(byte >> 4))
                    put(Self.hexDigit(byte & 0x0F))
                }
            }
        }
        put(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    public mutating func bool(_ value: Bool) {
        separate()
        if value { put("true") } else { put("false") }
    }

    /// A number; nil and non-finite values are written as null. Integral
    /// values below 10^15 are written without a fraction.
    public mutating func number(_ value: Double?) {
        guard let value, value.isFinite else { return null() }
        if value == value.rounded(), abs(value) < 1e15 {
            integer(Int64(value))
        } else {
            separate()
            var text = value.description
            text.withUTF8 { put($0) }
        }
    }

    /// An integer, its digits written in place (no intermediate string).
    public mutating func integer(_ value: some BinaryInteger) {
        separate()
        if value < 0 { put(UInt8(ascii: "-")) }
        digits(of: UInt64(value.magnitude))
    }

    /// An integer or null.
    public mutating func integer(_ value: (some BinaryInteger)?) {
        if let value { integer(value) } else { null() }
    }

    /// An integer as a JSON string, for 64-bit values (seeds, ids) that a
    /// JavaScript number cannot hold exactly.
    public mutating func integerString(_ value: UInt64) {
        separate()
        put(UInt8(ascii: "\""))
        digits(of: value)
        put(UInt8(ascii: "\""))
    }

    private mutating func digits(of magnitude: UInt64) {
        // Right to left: count the digits, then write them in place (20 hold any UInt64).
        var length = 1
        var probe = magnitude
        while probe >= 10 { probe /= 10; length += 1 }
        reserve(length)
        var rest = magnitude
        var position = count + length
        repeat {
            position -= 1
            storage[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        count += length
    }

    public mutating func null() {
        separate()
        put("null")
    }

    /// Text that is already JSON, copied as it is (e.g. a plugin's summary
    /// that was checked to parse).
    public mutating func raw(_ json: String) {
        separate()
        var json = json
        json.withUTF8 { put($0) }
    }
}

/// A value that writes itself as JSON.
public protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension String: JSONWritable {
    public func write(to writer: inout JSONWriter) { writer.string(self) }
}

extension Double: JSONWritable {
    public func write(to writer: inout JSONWriter) { writer.number(self) }
}

extension Int: JSONWritable {
    public func write(to writer: inout JSONWriter) { writer.integer(self) }
}

extension Bool: JSONWritable {
    public func write(to writer: inout JSONWriter) { writer.bool(self) }
}
