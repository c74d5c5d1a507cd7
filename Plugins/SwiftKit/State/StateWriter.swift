/// Writes a state payload: little-endian integers and IEEE-754 doubles, so the
/// same state always gives the same bytes on every machine.
public struct StateWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Double) {
        write(value.bitPattern)
    }

    public mutating func write(_ values: [Double]) {
        bytes.reserveCapacity(bytes.count + values.count * 8)
        for value in values { write(value) }
    }
}
