internal import Storage

/// Routes of the decisions most recently written to the log, so that feedback
/// arriving soon after its decision (the common case) is routed without a
/// database read. Owned by the writer thread.
///
/// A ring indexed by the id's counter (ids of one start are consecutive, see
/// `DecisionIdentifiers`): inserting and finding are an index and a compare,
/// no hashing, which matters as every decision passes through here. A slot
/// holds the id last inserted there (the newest decisions, or the block of
/// older ones the writer just read for a miss); a miss falls back to the
/// database. The ring grows to `capacity` as it fills, so an idle server does
/// not hold it.
struct RecentDecisions {
    private struct Slot {
        /// 0 when empty: no decision id is 0 (counters start at 1).
        var id: UInt64
        var route: DecisionRoute
    }

    private var slots: [Slot] = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    private func index(_ id: UInt64) -> Int {
        Int((id & (1 << DecisionIdentifiers.counterBits - 1)) % UInt64(capacity))
    }

    mutating func insert(_ id: UInt64, _ route: DecisionRoute) {
        let index = index(id)
        if index >= slots.count {
            let empty = Slot(id: 0, route: DecisionRoute(tenantID: 0, experimentID: 0, strategyID: 0, arm: 0))
            slots.append(contentsOf: repeatElement(empty, count: index + 1 - slots.count))
        }
        slots[index] = Slot(id: id, route: route)
    }

    func route(_ id: UInt64) -> DecisionRoute? {
        let index = index(id)
        guard index < slots.count, slots[index].id == id, id != 0 else { return nil }
        return slots[index].route
    }
}
