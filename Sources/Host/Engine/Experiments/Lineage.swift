internal import Dispatch
internal import JSON
internal import PluginHost
internal import Storage
internal import Synchronization

/// One strategy of one experiment at run time: its live plugin instance and
/// where its state stands against the store. Its id is the strategy record's,
/// which names the state lineage in the database.
///
/// The instance is only ever touched under the lock, as the ABI requires
/// (one instance is never called concurrently).
final class Lineage: Sendable {
    let id: Int64
    let experimentID: Int64
    let name: String

    struct State {
        var plugin: StrategyPlugin?
        var instance: StrategyInstance?
        var config: String
        var weight: Double
        /// The last learning event applied to `instance`.
        var appliedThrough: Int64 = 0
        /// The version the lineage restores from (0 before the first save).
        var activeVersion = 0
        /// Events applied since the last saved version.
        var unsavedEvents = 0
        /// When the first unsaved event was applied.
        var unsavedSince: ContinuousClock.Instant?
        /// Why the strategy cannot run, if it cannot.
        var unavailable: String?
    }

    let state: Mutex<State>
    /// A moving average of the plugin's `select` time, in nanoseconds (see
    /// `Lineage+Selection`); written only under `state`'s lock.
    let selectPace: Atomic<Int>
    /// When the selection under way began (`PluginCallTimes.now()`), 0 when
    /// none is: how long the lock has been held, for those who find it taken.
    let selectStarted = Atomic<Int>(0)
    /// The serial queue that serves the lineage's slow selections, once needed.
    let offload = Mutex<DispatchQueue?>(nil)
    /// The plugin's declared reward range, read without the lock.
    let rewardRange: ClosedRange<Double>
    let pluginName: String
    /// The plugin version it is pinned to (a canary), which upgrades leave
    /// alone; nil when it runs the active version.
    let pinnedVersion: String?

    init(id: Int64, experimentID: Int64, name: String, pluginName: String, pinnedVersion: String? = nil, state: sending State) {
        self.pinnedVersion = pinnedVersion
        self.id = id
        self.experimentID = experimentID
        self.name = name
        self.pluginName = pluginName
        self.rewardRange = state.plugin?.rewardRange ?? -Double.infinity...Double.infinity
        // Its plugin's typical select so far (the median's bucket, which a
        // select slowed by the machine does not move): a new lineage of a
        // slow plugin starts off the shared threads, one of a fast plugin on
        // them, one of a plugin never timed off them.
        self.selectPace = Atomic(state.plugin?.callTimes.typicalNanoseconds(.select) ?? Lineage.paceUnknown)
        self.state = Mutex(state)
    }

    /// The traffic weight, 0 when the strategy cannot run.
    var effectiveWeight: Double {
        state.withLock { $0.effectiveWeight }
    }
}

extension Lineage.State {
    /// The traffic weight, 0 when the strategy cannot run.
    var effectiveWeight: Double {
        unavailable == nil && instance != nil ? weight : 0
    }

    /// Applies records to the instance. If the plugin refuses the batch (which
    /// it should not: the engine validated every record against its contract),
    /// the records are applied one by one and the refused ones skipped, so live
    /// learning and replay after a restart stay identical. Returns the number
    /// of records the plugin refused.
    @discardableResult
    mutating func apply(_ records: [FeedbackRecord], through eventID: Int64) -> Int {
        var refused = 0
        if let instance {
            do {
                try instance.update(records)
            } catch {
                for record in records {
                    do { try instance.update([record]) } catch { refused += 1 }
                }
            }
        }
        appliedThrough = max(appliedThrough, eventID)
        if unsavedEvents == 0 { unsavedSince = .now }
        unsavedEvents += records.count
        return refused
    }
}

extension Lineage {
    /// A lineage for a stored strategy.
    convenience init(_ record: StrategyRecord, state: sending State) {
        self.init(id: record.id, experimentID: record.experimentID, name: record.name, pluginName: record.plugin,
                  pinnedVersion: record.pluginVersion, state: state)
    }

    /// The strategy's own JSON summary of its learned state; nil when it
    /// offers none or cannot run.
    func summary() throws(EngineError) -> JSONValue? {
        let text = try state.withLock { state throws(EngineError) -> String? in
            guard let instance = state.instance else { return nil }
            do throws(PluginCallError) { return try instance.inspect() } catch { throw .plugin(error) }
        }
        return text.flatMap(JSONValue.init(parsing:))
    }
}

extension Lineage.State {
    /// Puts `instance` in service as the state of `version`, with no unsaved events.
    mutating func install(_ instance: StrategyInstance, version: Int) {
        self.instance = instance
        activeVersion = version
        markSaved()
    }

    /// Records that the state in service is saved.
    mutating func markSaved() {
        unsavedEvents = 0
        unsavedSince = nil
    }
}
