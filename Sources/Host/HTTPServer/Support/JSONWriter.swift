internal import Hummingbird
internal import HTTPTypes
internal import NIOCore

/// Writes JSON straight into bytes, for the responses of the hot routes
/// (decide, feedback, predict), where going through `Encodable` and
/// `JSONEncoder` cost more than the decision itself (measured with perf under
/// wrk). Commas are placed automatically.
///
/// The bytes go into storage of its own, grown by doubling: an array's
/// per-append checks (uniqueness, capacity, count) were a measurable part of
/// a decision's response. Not copyable, so the storage has one owner.
struct JSONWriter: ~Copyable {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0
    /// How many containers are open.
    private var depth = 0
    /// Bit `d` is set when the open container at depth `d + 1` holds a value
    /// already (a comma goes before the next one). A register, not an array:
    /// responses nest a few levels, never 64.
    private var filled: UInt64 = 0

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// The bytes written so far.
    var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: storage, count: count))
    }

    /// The bytes written so far, in a new buffer.
    var buffer: ByteBuffer {
        ByteBuffer(bytes: UnsafeRawBufferPointer(start: storage, count: count))
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

    // MARK: Structure

    private var innermost: UInt64 { 1 << UInt64(depth - 1) }

    private mutating func separate() {
        guard depth > 0 else { return }
        if filled & innermost != 0 { put(UInt8(ascii: ",")) }
        filled |= innermost
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        put(bracket)
        precondition(depth < 64, "JSONWriter nests at most 64 containers")
        depth += 1
        filled &= ~innermost
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        put(bracket)
    }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        open(UInt8(ascii: "{"))
        body(&self)
        close(UInt8(ascii: "}"))
    }

    mutating func array<S: Sequence>(_ elements: S, _ body: (inout JSONWriter, S.Element) -> Void) {
        open(UInt8(ascii: "["))
        for element in elements { body(&self, element) }
        close(UInt8(ascii: "]"))
    }

    /// A member's key; the value written next belongs to it.
    mutating func key(_ name: StaticString) {
        separate()
        // Through `withUTF8Buffer`: a one-character literal is held as a
        // scalar, without the pointer `utf8Start` needs.
        name.withUTF8Buffer { utf8 in
            reserve(utf8.count + 3)
            storage[count] = UInt8(ascii: "\"")
            if let source = utf8.baseAddress { (storage + count + 1).initialize(from: source, count: utf8.count) }
            count += utf8.count + 1
        }
        storage[count] = UInt8(ascii: "\"")
        storage[count + 1] = UInt8(ascii: ":")
        count += 2
        filled &= ~innermost
    }

    // MARK: Values

    mutating func string(_ value: String) {
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

    mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    /// A number; nil and non-finite values are written as null.
    mutating func number(_ value: Double?) {
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
    mutating func integer(_ value: some BinaryInteger) {
        separate()
        if value < 0 { put(UInt8(ascii: "-")) }
        digits(of: UInt64(value.magnitude))
    }

    /// An integer as a JSON string, for 64-bit values (seeds, ids) that a
    /// JavaScript number cannot hold exactly.
    mutating func integerString(_ value: UInt64) {
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

    mutating func null() {
        separate()
        put("null")
    }
}

/// A response body written with `JSONWriter`.
protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension JSONBody {
    /// A JSON response written directly, without `Encodable`.
    static func response(writing value: some JSONWritable, status: HTTPResponse.Status = .ok) -> Response {
        var writer = JSONWriter()
        value.write(to: &writer)
        return response(buffer: writer.buffer, status: status)
    }

    /// A response whose body is already JSON.
    static func response(bytes: some Sequence<UInt8>, status: HTTPResponse.Status = .ok) -> Response {
        response(buffer: ByteBuffer(bytes: bytes), status: status)
    }

    /// A response whose body is already JSON.
    static func response(buffer: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(2)
        headers.append(jsonContentType)
        // Appended here, so `Response` finds it instead of setting it through
        // the name subscript (a search, a removal and an insertion).
        headers.append(HTTPField(name: .contentLength, value: String(buffer.readableBytes)))
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }

    /// Built once: an `HTTPField` checks its value when made.
    private static let jsonContentType = HTTPField(name: .contentType, value: "application/json; charset=utf-8")
}
