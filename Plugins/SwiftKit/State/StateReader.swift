/// Reads a state payload written by `StateWriter`, refusing truncated input.
public struct StateReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    /// A reader over borrowed bytes.
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Bytes not read yet.
    public var remaining: Int { bytes.count - offset }

    private mutating func take(_ count: Int) throws(StrategyError) -> UnsafeRawBufferPointer {
        guard count <= remaining else {
            throw .invalidState("state payload is truncated at byte \(offset)")
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    public mutating func readUInt32() throws(StrategyError) -> UInt32 {
        var value: UInt32 = 0
        let raw = try take(4)
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: raw) }
        return UInt32(littleEndian: value)
    }

    public mutating func readUInt64() throws(StrategyError) -> UInt64 {
        var value: UInt64 = 0
        let raw = try take(8)
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: raw) }
        return UInt64(littleEndian: value)
    }

    public mutating func readDouble() throws(StrategyError) -> Double {
        Double(bitPattern: try readUInt64())
    }

    /// Reads `count` doubles, each required to satisfy `valid` (a corrupted
    /// state must not turn into a NaN posterior).
    public mutating func readDoubles(_ count: Int, named name: String, valid: (Double) -> Bool) throws(StrategyError) -> [Double] {
        guard count * 8 <= remaining else {
            throw .invalidState("state payload is truncated in '\(name)'")
        }
        var values: [Double] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            let value = try readDouble()
            guard valid(value) else {
                throw .invalidState("state holds an invalid '\(name)' value \(value)")
            }
            values.append(value)
        }
        return values
    }

    /// Reads an arm count, bounded by what the remaining bytes can hold.
    public mutating func readArmCount(bytesPerArm: Int) throws(StrategyError) -> Int {
        let count = Int(try readUInt32())
        guard count >= 1, count * bytesPerArm <= remaining else {
            throw .invalidState("state arm count \(count) does not match its size")
        }
        return count
    }

    /// Requires that everything was read.
    public func finish() throws(StrategyError) {
        guard remaining == 0 else {
            throw .invalidState("state payload has \(remaining) unexpected trailing bytes")
        }
    }
}
