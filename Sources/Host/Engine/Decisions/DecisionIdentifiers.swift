internal import PluginHost
internal import Synchronization

/// Issues decision ids and seeds. An id is the host's boot number in the top
/// 24 bits and a counter in the low 40; a host that is one of several on a
/// Kafka topic (node 1 to 255) puts its node number in the top 8 of those
/// bits and keeps 16 for the boot number, so no two hosts issue the same id
/// (the boot numbers repeat after 65,536 starts). The boot number is stored durably
/// before the first decision of a start, so an id is never issued twice, even
/// for decisions a crash lost from the log: feedback for a lost decision is
/// rejected as unknown, never routed to another decision.
///
/// The write pipeline issues a decision's id as it queues the decision for
/// the log, so the log receives ids in increasing order and its blocks never
/// overlap. The seed is drawn before the decision is made, from a counter of
/// its own mixed with the boot number: distinct for every decision of every
/// start, and logged with the decision for replay.
final class DecisionIdentifiers: Sendable {
    static let counterBits: UInt64 = 40
    private let boot: UInt64
    private let ids = Atomic<UInt64>(0)
    private let seeds = Atomic<UInt64>(0)

    init(boot: Int64, node: Int = 0) {
        self.boot = node > 0 ? UInt64(node & 0xFF) << 16 | UInt64(boot) & 0xFFFF : UInt64(boot) & 0xFF_FFFF
    }

    /// The next decision id.
    func next() -> UInt64 {
        stamped(ids.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    /// The seed of the next decision.
    func seed() -> UInt64 {
        SeedSequence.mix(stamped(seeds.wrappingAdd(1, ordering: .relaxed).newValue) ^ 0x5EED_5EED_5EED_5EED)
    }

    /// A counter's value under this start's boot number.
    private func stamped(_ count: UInt64) -> UInt64 {
        boot << Self.counterBits | (count & (1 << Self.counterBits - 1))
    }

    /// The external form of an id.
    static func text(_ id: UInt64) -> String { String(id) }

    /// Parses the external form; nil when it is not one.
    static func parse(_ text: String) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
