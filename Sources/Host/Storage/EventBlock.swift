/// Learning events packed into one blob: the event log stores a block of
/// consecutive events per row (`event_blocks`), and the event ids alone go to
/// `event_ids`, the table that detects duplicates. A row per event kept two
/// b-trees per event (the row and its unique index); with blocks, an event
/// costs one insert into `event_ids` and its share of one row, which raised
/// SQLite's own ceiling for durable feedback by about 40% on the machines we
/// measure on (Docs/benchmarks.md).
///
/// Format 1, every record in sequence order, integers as LEB128 varints
/// unless noted:
///
/// | Field | Encoding |
/// | --- | --- |
/// | sequence number | varint, minus the block's first id |
/// | tenant id | varint |
/// | event id | varint byte count, then UTF-8 |
/// | decision id, strategy id, arm | varints |
/// | reward, weight | 8 bytes each, the double's bits, little-endian |
/// | created at | zigzag varint, minus the block's `created_at` |
public enum EventBlock {
    /// The format `encode` writes.
    public static let format = 1
    /// The most events one block holds.
    public static let capacity = 1_024

    /// Packs `events`, which must be in increasing sequence order, relative to
    /// `firstID` and `createdAt` (the block row's columns).
    public static func encode(_ events: some Collection<EventRecord>, firstID: Int64, createdAt: Int64) -> [UInt8] {
        var out = PackedWriter(capacity: events.count * 48)
        for event in events {
            precondition(event.id >= firstID, "a block's events come in increasing sequence order")
            out.varint(UInt64(event.id - firstID))
            out.signed(event.tenantID)
            out.text(event.eventID)
            out.varint(event.decisionID)
            out.signed(event.strategyID)
            out.signed(Int64(event.arm))
            out.fixed(event.reward.bitPattern)
            out.fixed(event.weight.bitPattern)
            out.zigzag(event.createdAt &- createdAt)
        }
        return out.bytes
    }

    /// The `count` events of a block, in order; nil when the bytes are not a
    /// valid block of `format` holding that many.
    public static func decode(_ bytes: [UInt8], format: Int, firstID: Int64, createdAt: Int64, count: Int) -> [EventRecord]? {
        guard format == Self.format else { return nil }
        var reader = PackedReader(bytes: bytes)
        var events: [EventRecord] = []
        events.reserveCapacity(count)
        while !reader.atEnd {
            guard events.count < count, let delta = reader.varint(), delta <= UInt64(Int64.max),
                  let tenantID = reader.signed(), let eventID = reader.text(), let decisionID = reader.varint(),
                  let strategyID = reader.signed(), let arm = reader.signed(), let reward = reader.fixed(),
                  let weight = reader.fixed(), let created = reader.zigzag()
            else { return nil }
            let (id, overflow) = firstID.addingReportingOverflow(Int64(delta))
            guard !overflow else { return nil }
            events.append(EventRecord(
                id: id, tenantID: tenantID, eventID: eventID, decisionID: decisionID, strategyID: strategyID,
                arm: Int(truncatingIfNeeded: arm), reward: Double(bitPattern: reward), weight: Double(bitPattern: weight),
                createdAt: createdAt &+ created))
        }
        return events.count == count ? events : nil
    }
}

/// A stored block that does not decode: the log was damaged outside Arbiter.
public struct CorruptBlockError: Error, CustomStringConvertible {
    public let table: String
    public let firstID: Int64

    public var description: String {
        "the \(table) row with first_id \(firstID) does not decode: the database was damaged; restore it from a backup"
    }
}
