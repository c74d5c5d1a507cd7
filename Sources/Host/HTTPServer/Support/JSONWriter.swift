internal import Hummingbird
internal import HTTPTypes
internal import NIOCore

/// Writes JSON straight into bytes, for the responses of the hot routes
/// (decide, feedback, predict), where going through `Encodable` and
/// `JSONEncoder` cost more than the decision itself (measured with perf under
/// wrk). Commas are placed automatically.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// How many containers are open.
    private var depth = 0
    /// Bit `d` is set when the open container at depth `d + 1` holds a value
    /// already (a comma goes before the next one). A register, not an array:
    /// responses nest a few levels, never 64.
    private var filled: UInt64 = 0

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    private var innermost: UInt64 { 1 << UInt64(depth - 1) }

    private mutating func separate() {
        guard depth > 0 else { return }
        if filled & innermost != 0 { bytes.append(UInt8(ascii: ",")) }
        filled |= innermost
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        precondition(depth < 64, "JSONWriter nests at most 64 containers")
        depth += 1
        filled &= ~innermost
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        bytes.append(bracket)
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
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        filled &= ~innermost
    }

    mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            // Most strings need no escaping: copy them whole.
            if !utf8.contains(where: Self.needsEscape) {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 {
                guard Self.needsEscape(byte) else {
                    bytes.append(byte)
                    continue
                }
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
                default:
                    let hex = "0123456789abcdef".utf8
                    bytes.append(contentsOf: "u00".utf8)
                    bytes.append(hex[hex.index(hex.startIndex, offsetBy: Int(byte >> 4))])
                    bytes.append(hex[hex.index(hex.startIndex, offsetBy: Int(byte & 0x0F))])
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
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
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// An integer, its digits written in place (no intermediate string).
    mutating func integer(_ value: some BinaryInteger) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        digits(of: UInt64(value.magnitude))
    }

    /// An integer as a JSON string, for 64-bit values (seeds, ids) that a
    /// JavaScript number cannot hold exactly.
    mutating func integerString(_ value: UInt64) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        digits(of: value)
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func digits(of magnitude: UInt64) {
        // Right to left into a scratch buffer (20 digits hold any UInt64), then one append.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            var rest = magnitude
            var start = scratch.count
            repeat {
                start -= 1
                scratch[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[start...]))
        }
    }

    mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
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
        return response(bytes: writer.bytes, status: status)
    }

    /// A response whose body is already JSON.
    static func response(bytes: some Sequence<UInt8>, status: HTTPResponse.Status = .ok) -> Response {
        response(buffer: ByteBuffer(bytes: bytes), status: status)
    }

    /// A response whose body is already JSON. `Response` adds the length.
    static func response(buffer: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers.append(jsonContentType)
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }

    /// Built once: an `HTTPField` checks its value when made.
    private static let jsonContentType = HTTPField(name: .contentType, value: "application/json; charset=utf-8")
}
