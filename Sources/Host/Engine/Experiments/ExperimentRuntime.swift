internal import PluginHost
internal import Storage
internal import Synchronization

/// An experiment at run time. Its shape (arms, strategies, assignment,
/// status) is immutable and replaced as a whole when it changes, so a
/// decision reads one consistent shape with one short lock and one reference.
final class ExperimentRuntime: Sendable {
    let id: Int64
    let tenantID: Int64
    let tenantName: String
    let key: String
    let createdAt: Int64
    /// The id of the API key that created it in this process (for the audit
    /// trail entry written with its rows); nil when loaded or made by the host.
    let createdBy: String?

    final class Shape: Sendable {
        let arms: [String]
        /// Arm indices by name; nil for a few arms, found by a scan (no
        /// dictionary to build for every experiment created).
        private let indexByName: [String: UInt32]?
        /// Every arm's index, the eligible set of a request that names none
        /// (built once rather than per decision).
        let allArms: [UInt32]
        let lineages: [Lineage]
        let assignment: Assignment
        let status: ExperimentStatus
        let updatedAt: Int64

        init(arms: [String], lineages: [Lineage], assignment: Assignment, status: ExperimentStatus, updatedAt: Int64) {
            self.arms = arms
            self.indexByName = arms.count > Self.scannedArms
                ? Dictionary(uniqueKeysWithValues: arms.enumerated().map { ($1, UInt32($0)) }) : nil
            self.allArms = (0..<UInt32(arms.count)).map { $0 }
            self.lineages = lineages
            self.assignment = assignment
            self.status = status
            self.updatedAt = updatedAt
        }

        func lineage(named name: String) -> Lineage? {
            lineages.first { $0.name == name }
        }

        /// Up to this many arms are found by a scan.
        static let scannedArms = 16

        /// The index of the arm `name`, if the experiment has it.
        func armIndex(_ name: String) -> UInt32? {
            if let indexByName { return indexByName[name] }
            return arms.firstIndex(of: name).map { UInt32($0) }
        }
    }

    private let current: Mutex<Shape>
    /// When it was last used (milliseconds of the continuous clock), for
    /// choosing which experiments leave memory.
    private let used = Atomic<Int64>(0)
    /// Set by every use, cleared by the eviction clock's hand as it passes
    /// (see `Registry.unusedSinceLastPass`).
    private let usedBit = Atomic<Bool>(true)
    /// Its estimated memory, fixed when it is loaded (see `estimate`).
    let estimatedBytes: Int
    /// False for an experiment created in memory until its rows are written
    /// (with the next batch): until then it must not leave memory.
    private let storedFlag: Atomic<Bool>

    init(record: ExperimentRecord, tenantName: String, shape: Shape, stored: Bool = true, createdBy: String? = nil) {
        storedFlag = Atomic(stored)
        self.createdBy = createdBy
        id = record.id
        tenantID = record.tenantID
        self.tenantName = tenantName
        key = record.key
        createdAt = record.createdAt
        estimatedBytes = Self.estimate(arms: shape.arms.count, strategies: shape.lineages.count)
        current = Mutex(shape)
        touch()
    }

    /// The memory an experiment in memory holds, estimated from its arms and
    /// strategies: its names, index and shape, and per strategy an instance
    /// (the host's wrapper and the plugin's state). The constants were
    /// measured (`scripts/bench experiments`: resident memory over resident
    /// experiments of 10 arms and one strategy, Docs/benchmarks.md).
    static func estimate(arms: Int, strategies: Int) -> Int {
        1_200 + 100 * arms + strategies * (600 + 40 * arms)
    }

    var shape: Shape {
        get { current.withLock { $0 } }
    }

    /// Whether its rows are written.
    var isStored: Bool { storedFlag.load(ordering: .relaxed) }

    /// Records that its rows are written.
    func markStored() {
        storedFlag.store(true, ordering: .relaxed)
    }

    /// The experiment's row as it stands.
    var record: ExperimentRecord {
        let shape = self.shape
        return ExperimentRecord(id: id, tenantID: tenantID, key: key, arms: shape.arms, assignment: shape.assignment,
                                status: shape.status, createdAt: createdAt, updatedAt: shape.updatedAt)
    }

    /// Marks it used now.
    func touch() {
        used.store(Self.clock(), ordering: .relaxed)
        usedBit.store(true, ordering: .relaxed)
    }

    /// Clears the use bit; true when it was set (used since the last clear).
    func clearUse() -> Bool {
        guard usedBit.load(ordering: .relaxed) else { return false }
        usedBit.store(false, ordering: .relaxed)
        return true
    }

    /// Whether it was used since the last `clearUse`.
    var usedSinceCleared: Bool { usedBit.load(ordering: .relaxed) }

    /// When it was last used.
    var lastUsed: Int64 { used.load(ordering: .relaxed) }

    /// Milliseconds of the continuous clock since the first call.
    static func clock() -> Int64 {
        (ContinuousClock.now - origin).nanoseconds / 1_000_000
    }

    private static let origin = ContinuousClock.now

    func replaceShape(_ change: (Shape) -> Shape) {
        current.withLock { $0 = change($0) }
    }

    /// The experiment as reported to callers.
    var info: ExperimentInfo {
        let shape = self.shape
        let weights = shape.lineages.map(\.effectiveWeight)
        let total = weights.reduce(0, +)
        let strategies = zip(shape.lineages, weights).map { lineage, weight in
            lineage.state.withLock { state in
                ExperimentInfo.Strategy(
                    name: lineage.name, plugin: lineage.pluginName, pluginVersion: state.plugin?.version.description,
                    config: state.config, weight: state.weight, trafficShare: total > 0 ? weight / total : 0,
                    activeVersion: state.activeVersion, appliedThrough: state.appliedThrough, unavailable: state.unavailable,
                    pinned: lineage.pinnedVersion != nil,
                    stateChecksum: (try? state.instance?.serialize()).map { Storage.stateChecksum($0) })
            }
        }
        return ExperimentInfo(key: key, tenant: tenantName, arms: shape.arms, strategies: strategies,
                              assignment: shape.assignment, status: shape.status, createdAt: createdAt, updatedAt: shape.updatedAt)
    }
}
