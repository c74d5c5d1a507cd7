internal import ArbiterABI

/// The header of a state envelope, read by the host to version states (the
/// payload is the plugin's own business).
public struct StateEnvelope: Sendable, Equatable {
    /// The strategy the state belongs to.
    public let strategy: String
    /// The version of the payload's format.
    public let stateFormatVersion: UInt32
    /// Payload length in bytes.
    public let payloadLength: UInt64

    /// Parses the header; nil when the bytes are not a complete envelope.
    public init?(_ bytes: [UInt8]) {
        var envelope = arbiter_envelope()
        let parsed: (String, UInt32, UInt64)? = bytes.withUnsafeBufferPointer { buffer in
            let status = arbiter_envelope_parse(buffer.baseAddress, UInt64(buffer.count), &envelope, nil)
            guard status == ARBITER_OK else { return nil }
            let name = String(decoding: UnsafeRawBufferPointer(start: envelope.name, count: Int(envelope.name_length)), as: UTF8.self)
            return (name, envelope.state_format_version, envelope.payload_length)
        }
        guard let parsed else { return nil }
        (strategy, stateFormatVersion, payloadLength) = parsed
    }
}
