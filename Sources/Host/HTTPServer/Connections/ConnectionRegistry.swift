internal import HummingbirdCore
internal import NIOCore
internal import Synchronization

/// The server's open connections and what each is doing, so that the
/// connection limit never locks out a client: at the limit, the connection
/// that has waited the longest without a request in progress is closed to
/// make room. Shared by every event loop, behind one lock (it is touched when
/// a connection opens, closes or changes between idle and busy, not per byte).
final class ConnectionRegistry: Sendable {
    /// What a connection is doing, as far as making room goes.
    enum Activity: UInt8, Sendable {
        /// No request in progress: the first to go.
        case idle
        /// A request head is arriving, not complete yet: next to go.
        case head
        /// A request is being read or answered: never closed to make room.
        case busy
    }

    /// One open connection. Its activity changes with every request, so it
    /// is an atomic of its own, written without the registry's lock (which
    /// only connections opening and closing take).
    final class Record: Sendable {
        let channel: any Channel
        private let state = Atomic<UInt64>(0)

        init(channel: any Channel) {
            self.channel = channel
        }

        /// Sets the activity, and when it began (the event loop's clock).
        func set(_ activity: Activity, at time: NIODeadline) {
            // The activity in the low byte, the time in milliseconds above it.
            let milliseconds = UInt64(max(0, time.uptimeNanoseconds / 1_000_000))
            state.store(milliseconds << 8 | UInt64(activity.rawValue), ordering: .relaxed)
        }

        var activity: Activity { Activity(rawValue: UInt8(state.load(ordering: .relaxed) & 0xFF)) ?? .busy }

        /// The order in which connections make room: idle before head, the
        /// longest in it first.
        var evictionOrder: (Int, UInt64) {
            let value = state.load(ordering: .relaxed)
            return (Int(value & 0xFF), value >> 8)
        }

        /// Marks it busy if it is idle or receiving a head: true when it was
        /// (and is now the caller's to close).
        func claimForEviction() -> Bool {
            var current = state.load(ordering: .relaxed)
            while Activity(rawValue: UInt8(current & 0xFF)) != .busy {
                let (exchanged, original) = state.compareExchange(
                    expected: current, desired: (current & ~0xFF) | UInt64(Activity.busy.rawValue), ordering: .relaxed)
                if exchanged { return true }
                current = original
            }
            return false
        }
    }

    private struct State {
        var records: [ObjectIdentifier: Record] = [:]
        var evicted = 0
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Connections open now.
    var count: Int { state.withLock { $0.records.count } }

    /// Connections closed to make room for new ones since start.
    var evictions: Int { state.withLock { $0.evicted } }

    /// Registers a new connection (idle) and returns its record.
    func opened(_ channel: any Channel) -> Record {
        let record = Record(channel: channel)
        record.set(.idle, at: .now())
        state.withLock { $0.records[ObjectIdentifier(channel)] = record }
        return record
    }

    func closed(_ channel: any Channel) {
        state.withLock { state in
            state.records[ObjectIdentifier(channel)] = nil
        }
    }

    /// Closes the connection idle the longest (or, with none idle, the one
    /// whose request head has been arriving the longest). The server channel
    /// asks once each time it is at the limit, and again each time a
    /// connection closes while it still is, so every close it waits for is
    /// one it asked for. Returns false when no connection can make room.
    @discardableResult
    func makeRoom() -> Bool {
        let victim: (any Channel)? = state.withLock { state in
            let candidates = state.records.values.filter { $0.activity != .busy }.sorted { $0.evictionOrder < $1.evictionOrder }
            // Claimed (marked busy) atomically: a connection that just became
            // busy is passed over, and none is closed twice.
            guard let claimed = candidates.first(where: { $0.claimForEviction() }) else { return nil }
            state.evicted += 1
            return claimed.channel
        }
        victim?.close(promise: nil)
        return victim != nil
    }

    /// The server channel's gate: it accepts while under the limit; at the
    /// limit it makes room and accepts again once a connection has closed.
    var gate: Gate { Gate(registry: self) }

    struct Gate: AvailableConnectionsDelegate {
        let registry: ConnectionRegistry
        private var accepted = 0

        init(registry: ConnectionRegistry) {
            self.registry = registry
        }

        mutating func connectionOpened() { accepted += 1 }

        mutating func connectionClosed() { accepted -= 1 }

        func isAcceptingNewConnections() -> Bool {
            guard accepted >= registry.limit else { return true }
            registry.makeRoom()
            return false
        }
    }
}
