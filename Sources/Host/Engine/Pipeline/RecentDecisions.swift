internal import Storage

/// Routes of the decisions most recently written to the log, so that feedback
/// arriving soon after its decision (the common case) is routed without a
/// database read. Bounded: the oldest routes are forgotten first, and a miss
/// falls back to the database. Owned by the writer thread.
struct RecentDecisions {
    private var routes: [UInt64: DecisionRoute] = [:]
    private var order: [UInt64] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        routes.reserveCapacity(self.capacity)
        order.reserveCapacity(self.capacity)
    }

    mutating func insert(_ id: UInt64, _ route: DecisionRoute) {
        if order.count < capacity {
            order.append(id)
        } else {
            routes[order[next]] = nil
            order[next] = id
            next = (next + 1) % capacity
        }
        routes[id] = route
    }

    func route(_ id: UInt64) -> DecisionRoute? {
        routes[id]
    }
}
