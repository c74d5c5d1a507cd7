internal import Dispatch
internal import PluginHost
internal import Synchronization

/// How a lineage asks its plugin for a decision without letting a slow
/// plugin stall the server. Requests are served on Swift concurrency's
/// cooperative threads, one per core: a `select` that sleeps or computes for
/// long on one of them, or requests waiting there for the lineage's lock,
/// would hold up every other experiment's requests. So a lineage whose recent
/// selections are slow (a moving average of the plugin's own call time past
/// `EngineConfiguration.slowSelect`; a new lineage starts from its plugin's
/// typical select, or as slow when the plugin was never timed), and any request that
/// finds the lock held for long, is served on a serial queue of the lineage's
/// own: its requests wait there, suspended, and only that queue's thread
/// waits for the plugin. A fast lineage's requests that find its lock taken
/// by a selection begun a moment ago wait for it where they are, as a mutex
/// waits: going through the queue costs a thread switch each.
extension Lineage {
    /// What a selection came to.
    enum Selection: Sendable {
        case decided(Decision, version: Int, appliedThrough: Int64)
        case refused(String)
        case noTraffic
    }

    /// What a selection needs, checked by the engine.
    struct SelectionRequest: Sendable {
        var arms: [UInt32]
        var context: [Double]
        var seed: UInt64
        var scores: Bool
        /// The lineage is the experiment's only one: refuse when it cannot take traffic.
        var single: Bool
    }

    /// Asks the plugin for a decision, on the caller's thread when the
    /// lineage is fast and its lock free soon, on the lineage's queue otherwise.
    /// - Parameter slow: the moving average of `select` past which the
    ///   lineage's selections leave the caller's thread, in nanoseconds.
    func select(_ request: SelectionRequest, slow: Int) async -> Selection {
        // Until its first selection is timed, a lineage counts as slow.
        if selectPace.load(ordering: .relaxed) < slow {
            if let selection = state.withLockIfAvailable({ selectLocked(&$0, request) }) { return selection }
            // Taken by a selection that began a moment ago: a fast plugin
            // gives it back within microseconds, so wait for it here (the
            // mutex spins, then sleeps). Held for longer, the holder is slow
            // this time: queue behind it off this thread.
            let started = selectStarted.load(ordering: .relaxed)
            if started == 0 || PluginCallTimes.now() - started < slow / 4 {
                return state.withLock { selectLocked(&$0, request) }
            }
        }
        let queue = offloadQueue
        return await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.state.withLock { self.selectLocked(&$0, request) })
            }
        }
    }

    /// `selectPace` before any selection was timed.
    static let paceUnknown = Int.max

    /// A moving average of selection times, an eighth of the way to the new one.
    private static func average(_ pace: Int, _ time: Int) -> Int {
        pace == paceUnknown ? time : pace + (time - pace) / 8
    }

    /// The selection itself, under the lock.
    private func selectLocked(_ state: inout State, _ request: SelectionRequest) -> Selection {
        if request.single, !(state.effectiveWeight > 0) { return .noTraffic }
        guard let instance = state.instance else { return .refused("strategy '\(name)' is not available") }
        selectStarted.store(PluginCallTimes.now(), ordering: .relaxed)
        defer { selectStarted.store(0, ordering: .relaxed) }
        do throws(InvalidRequest) {
            let decision = try instance.select(eligible: request.arms, context: request.context, seed: request.seed,
                                               scores: request.scores)
            // Only lock holders write the average: a load and a store suffice.
            let time = instance.lastSelectNanoseconds
            selectPace.store(Self.average(selectPace.load(ordering: .relaxed), time), ordering: .relaxed)
            return .decided(decision, version: state.activeVersion, appliedThrough: state.appliedThrough)
        } catch {
            return .refused(error.message)
        }
    }

    /// The lineage's serial queue, made on first use (most lineages never need one).
    private var offloadQueue: DispatchQueue {
        offload.withLock { queue in
            if let queue { return queue }
            let made = DispatchQueue(label: "arbiter.strategy.\(id)")
            queue = made
            return made
        }
    }
}
