/// Where a logged decision was made: what routes its feedback.
public struct DecisionOrigin: Sendable, Equatable {
    public var id: UInt64
    public var experimentID: Int64
    public var strategyID: Int64
    public var arm: Int
}

/// Logged decisions packed into one blob: the decision log stores a block of
/// consecutive decisions per row (`decision_blocks`) instead of a row per
/// decision. A row per decision cost SQLite about 2 µs of CPU per decision on
/// the machines we measure on, a packed block about a quarter of that; at tens
/// of thousands of decisions a second that is the difference that shows in
/// the decision route's throughput (Docs/benchmarks.md).
///
/// Format 1, every record in id order, integers as LEB128 varints unless
/// noted:
///
/// | Field | Encoding |
/// | --- | --- |
/// | id | varint, minus the block's first id |
/// | experiment id, strategy id, model version, applied through, arm | varints |
/// | propensity, traffic share | 8 bytes each, the double's bits, little-endian |
/// | seed | 8 bytes, little-endian |
/// | created at | zigzag varint, minus the block's `created_at` |
/// | flags | 1 byte: 1 arms in sequence, 2 context, 4 unit id, 8 fallback |
/// | eligible | varint count, then (unless flag 1) one varint arm index each |
/// | context | (flag 2) varint count, then 8 bytes per feature |
/// | unit id, fallback | (flags 4, 8) varint byte count, then UTF-8 |
///
/// "Arms in sequence" stores the count alone: the eligible arms are
/// `0..<count` in that order, as when a request names no `eligible_arms` and
/// every arm of the experiment is eligible.
public enum DecisionBlock {
    /// The format `encode` writes.
    public static let format = 1
    /// The most decisions one block holds (a lookup decodes at most this many).
    public static let capacity = 1_024

    fileprivate enum Flag {
        static let armsInSequence: UInt8 = 1
        static let context: UInt8 = 2
        static let unitID: UInt8 = 4
        static let fallback: UInt8 = 8
    }

    /// Packs `decisions`, which must be in increasing id order, relative to
    /// `firstID` and `createdAt` (the block row's columns).
    public static func encode(_ decisions: some Collection<DecisionRecord>, firstID: UInt64, createdAt: Int64) -> [UInt8] {
        var out = PackedWriter(capacity: decisions.count * 40)
        for d in decisions {
            precondition(d.id >= firstID, "a block's decisions come in increasing id order")
            out.varint(d.id - firstID)
            out.signed(d.experimentID)
            out.signed(d.strategyID)
            out.signed(Int64(d.modelVersion))
            out.signed(d.appliedThrough)
            out.signed(Int64(d.arm))
            out.fixed(d.propensity.bitPattern)
            out.fixed(d.trafficShare.bitPattern)
            out.fixed(d.seed)
            out.zigzag(d.createdAt &- createdAt)
            let inSequence = areInSequence(d.eligible)
            var flags: UInt8 = inSequence ? Flag.armsInSequence : 0
            if d.context != nil { flags |= Flag.context }
            if d.unitID != nil { flags |= Flag.unitID }
            if d.fallback != nil { flags |= Flag.fallback }
            out.byte(flags)
            out.varint(UInt64(d.eligible.count))
            if !inSequence {
                for arm in d.eligible { out.varint(UInt64(arm)) }
            }
            if let context = d.context {
                out.varint(UInt64(context.count))
                for value in context { out.fixed(value.bitPattern) }
            }
            if let unitID = d.unitID { out.text(unitID) }
            if let fallback = d.fallback { out.text(fallback) }
        }
        return out.bytes
    }

    /// The `count` decisions of a block, in order; nil when the bytes are not
    /// a valid block of `format` holding that many.
    public static func decode(_ bytes: [UInt8], format: Int, firstID: UInt64, createdAt: Int64, count: Int) -> [DecisionRecord]? {
        var found: [DecisionRecord] = []
        let complete = scan(bytes, format: format, firstID: firstID, createdAt: createdAt) { record in
            found.append(record)
            return found.count <= count
        }
        return complete && found.count == count ? found : nil
    }

    /// The decision `id` of a block, or nil when the block does not hold it
    /// (or is not a valid block).
    public static func find(_ id: UInt64, in bytes: [UInt8], format: Int, firstID: UInt64, createdAt: Int64) -> DecisionRecord? {
        var found: DecisionRecord?
        _ = scan(bytes, format: format, firstID: firstID, createdAt: createdAt) { record in
            if record.id == id { found = record }
            return record.id < id
        }
        return found
    }

    /// Where each decision of a block was made (experiment, strategy, arm),
    /// read without decoding the rest: what feedback needs to be routed. Nil
    /// when the bytes are not a valid block of `format` holding `count`.
    public static func origins(_ bytes: [UInt8], format: Int, firstID: UInt64, count: Int) -> [DecisionOrigin]? {
        guard format == Self.format else { return nil }
        var reader = PackedReader(bytes: bytes)
        var origins: [DecisionOrigin] = []
        origins.reserveCapacity(count)
        while !reader.atEnd {
            guard origins.count < count, let origin = reader.origin(firstID: firstID) else { return nil }
            origins.append(origin)
        }
        return origins.count == count ? origins : nil
    }

    /// Decodes records in order, handing each to `body` until it returns
    /// false; false when the bytes are malformed.
    private static func scan(_ bytes: [UInt8], format: Int, firstID: UInt64, createdAt: Int64,
                             _ body: (DecisionRecord) -> Bool) -> Bool {
        guard format == Self.format else { return false }
        var reader = PackedReader(bytes: bytes)
        while !reader.atEnd {
            guard let record = reader.decision(firstID: firstID, createdAt: createdAt) else { return false }
            guard body(record) else { return true }
        }
        return true
    }

    /// Whether the arms are `0, 1, 2, ...`.
    private static func areInSequence(_ eligible: [UInt32]) -> Bool {
        for (index, arm) in eligible.enumerated() where arm != UInt32(truncatingIfNeeded: index) { return false }
        return true
    }
}

extension PackedReader {
    /// More arms than any experiment may have: a larger count is a corrupt block.
    private static let maximumArms = 1 << 20

    private typealias Flag = DecisionBlock.Flag

    /// The next decision of a block of `DecisionBlock.format`.
    mutating func decision(firstID: UInt64, createdAt: Int64) -> DecisionRecord? {
        guard let delta = varint(), let experimentID = signed(), let strategyID = signed(), let modelVersion = signed(),
              let appliedThrough = signed(), let arm = signed(), let propensity = fixed(), let trafficShare = fixed(),
              let seed = fixed(), let created = zigzag(), let flags = byte(), let count = varint(),
              count <= UInt64(flags & Flag.armsInSequence != 0 ? Self.maximumArms : bytes.count)
        else { return nil }
        var eligible: [UInt32] = []
        if flags & Flag.armsInSequence != 0 {
            eligible = (0..<UInt32(count)).map { $0 }
        } else {
            eligible.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let value = varint(), value <= UInt64(UInt32.max) else { return nil }
                eligible.append(UInt32(value))
            }
        }
        var context: [Double]?
        if flags & Flag.context != 0 {
            guard let features = varint(), features <= UInt64(remaining) / 8 else { return nil }
            var values: [Double] = []
            values.reserveCapacity(Int(features))
            for _ in 0..<features {
                guard let bits = fixed() else { return nil }
                values.append(Double(bitPattern: bits))
            }
            context = values
        }
        var unitID: String?
        if flags & Flag.unitID != 0 {
            guard let value = text() else { return nil }
            unitID = value
        }
        var fallback: String?
        if flags & Flag.fallback != 0 {
            guard let value = text() else { return nil }
            fallback = value
        }
        let (id, overflow) = firstID.addingReportingOverflow(delta)
        guard !overflow else { return nil }
        return DecisionRecord(
            id: id, experimentID: experimentID, strategyID: strategyID,
            modelVersion: Int(truncatingIfNeeded: modelVersion), appliedThrough: appliedThrough,
            arm: Int(truncatingIfNeeded: arm), propensity: Double(bitPattern: propensity),
            trafficShare: Double(bitPattern: trafficShare), seed: seed,
            eligible: eligible, context: context, unitID: unitID, fallback: fallback,
            createdAt: createdAt &+ created)
    }

    /// The origin of the next decision, skipping the rest of it.
    mutating func origin(firstID: UInt64) -> DecisionOrigin? {
        guard let delta = varint(), let experimentID = signed(), let strategyID = signed(), varint() != nil,
              varint() != nil, let arm = signed(), skip(24), varint() != nil, let flags = byte(), let count = varint(),
              count <= UInt64(flags & Flag.armsInSequence != 0 ? Self.maximumArms : bytes.count)
        else { return nil }
        if flags & Flag.armsInSequence == 0 {
            for _ in 0..<count where varint() == nil { return nil }
        }
        if flags & Flag.context != 0 {
            guard let features = varint(), features <= UInt64(remaining) / 8, skip(Int(features) * 8) else { return nil }
        }
        for flag in [Flag.unitID, Flag.fallback] where flags & flag != 0 {
            guard skipText() else { return nil }
        }
        let (id, overflow) = firstID.addingReportingOverflow(delta)
        guard !overflow else { return nil }
        return DecisionOrigin(id: id, experimentID: experimentID, strategyID: strategyID, arm: Int(truncatingIfNeeded: arm))
    }
}
