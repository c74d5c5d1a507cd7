internal import Storage
internal import Synchronization

/// Everything the engine knows at run time: tenants, the key of every
/// experiment (a few dozen bytes each, so a million fit), and the experiments
/// loaded in memory ("resident") with their lineages. An experiment is loaded
/// on first use and leaves memory when it has not been used for a while and
/// the resident ones exceed their budget (see `Writer+Eviction`).
///
/// Reads take one short lock.
final class Registry: Sendable {
    struct ExperimentKey: Hashable, Sendable {
        var tenantID: Int64
        var key: String
    }

    struct Content: Sendable {
        var tenantsByName: [String: TenantRecord] = [:]
        var tenantsByID: [Int64: TenantRecord] = [:]
        /// Every experiment's id, by tenant and key.
        var ids: [ExperimentKey: Int64] = [:]
        /// Every experiment's tenant, by experiment id (ids are dense).
        var tenantOfExperiment: [UInt32] = []
        /// The experiments in memory.
        var resident: [Int64: ExperimentRuntime] = [:]
        /// Their ids, in no order, for picking at random.
        var residentIDs: [Int64] = []
        var residentPositions: [Int64: Int] = [:]
        /// Their estimated memory.
        var residentBytes = 0
        /// The lineages of the experiments in memory.
        var lineages: [Int64: Lineage] = [:]
    }

    private let content = Mutex(Content())

    // MARK: Tenants

    func tenant(named name: String) -> TenantRecord? {
        content.withLock { $0.tenantsByName[name] }
    }

    func tenant(id: Int64) -> TenantRecord? {
        content.withLock { $0.tenantsByID[id] }
    }

    var tenants: [TenantRecord] {
        content.withLock { Array($0.tenantsByID.values) }.sorted { $0.id < $1.id }
    }

    func add(tenant: TenantRecord) {
        content.withLock {
            $0.tenantsByName[tenant.name] = tenant
            $0.tenantsByID[tenant.id] = tenant
        }
    }

    // MARK: Experiments

    /// What a lookup by tenant name and key found.
    enum Found {
        case unknownTenant
        case unknownExperiment(TenantRecord)
        /// The experiment exists; `runtime` is set when it is in memory.
        case experiment(id: Int64, runtime: ExperimentRuntime?)
    }

    /// The experiment `key` of the tenant named `tenant` (one lock, for the decision path).
    func experiment(tenantNamed tenant: String, key: String) -> Found {
        content.withLock { content in
            guard let record = content.tenantsByName[tenant] else { return .unknownTenant }
            guard let id = content.ids[ExperimentKey(tenantID: record.id, key: key)] else { return .unknownExperiment(record) }
            return .experiment(id: id, runtime: content.resident[id])
        }
    }

    /// The id of the tenant's experiment `key`, if it exists.
    func experimentID(tenantID: Int64, key: String) -> Int64? {
        content.withLock { $0.ids[ExperimentKey(tenantID: tenantID, key: key)] }
    }

    /// The experiment with that id, when it is in memory.
    func resident(id: Int64) -> ExperimentRuntime? {
        content.withLock { $0.resident[id] }
    }

    /// The tenant of an experiment (in memory or not); nil when there is none.
    func tenantID(ofExperiment id: Int64) -> Int64? {
        content.withLock { content in
            guard id > 0, id < content.tenantOfExperiment.count, content.tenantOfExperiment[Int(id)] != 0 else { return nil }
            return Int64(content.tenantOfExperiment[Int(id)])
        }
    }

    /// Records that an experiment exists (created, or found at start).
    func register(id: Int64, tenantID: Int64, key: String) {
        content.withLock { $0.register(id: id, tenantID: tenantID, key: key) }
    }

    /// Records that experiments exist, under one lock (start-up).
    func register(_ experiments: [(id: Int64, tenantID: Int64, key: String)]) {
        content.withLock { content in
            content.ids.reserveCapacity(content.ids.count + experiments.count)
            for experiment in experiments {
                content.register(id: experiment.id, tenantID: experiment.tenantID, key: experiment.key)
            }
        }
    }

    /// Number of experiments, in memory or not.
    var experimentCount: Int { content.withLock { $0.ids.count } }

    /// Puts a loaded experiment in memory and returns the one in memory: a
    /// runtime loaded by another caller first wins, so there is only ever one.
    @discardableResult
    func install(_ runtime: ExperimentRuntime) -> ExperimentRuntime {
        content.withLock { content in
            if let existing = content.resident[runtime.id] { return existing }
            content.register(id: runtime.id, tenantID: runtime.tenantID, key: runtime.key)
            content.resident[runtime.id] = runtime
            content.residentPositions[runtime.id] = content.residentIDs.count
            content.residentIDs.append(runtime.id)
            content.residentBytes += runtime.estimatedBytes
            for lineage in runtime.shape.lineages { content.lineages[lineage.id] = lineage }
            return runtime
        }
    }

    /// Adds a lineage to an experiment in memory (a strategy added by an update).
    func add(lineage: Lineage) {
        content.withLock { $0.lineages[lineage.id] = lineage }
    }

    /// Takes an experiment out of memory (it stays known by its key).
    func evict(id: Int64) {
        content.withLock { content in
            guard let runtime = content.resident.removeValue(forKey: id), let position = content.residentPositions.removeValue(forKey: id)
            else { return }
            let last = content.residentIDs.removeLast()
            if last != id {
                content.residentIDs[position] = last
                content.residentPositions[last] = position
            }
            content.residentBytes -= runtime.estimatedBytes
            for lineage in runtime.shape.lineages { content.lineages[lineage.id] = nil }
        }
    }

    /// The lineage with that id, when its experiment is in memory.
    func lineage(id: Int64) -> Lineage? {
        content.withLock { $0.lineages[id] }
    }

    /// The lineages in memory, by id.
    var lineages: [Lineage] {
        content.withLock { Array($0.lineages.values) }.sorted { $0.id < $1.id }
    }

    /// The experiments in memory (of one tenant, or all), oldest first.
    func residentExperiments(tenantID: Int64? = nil) -> [ExperimentRuntime] {
        content.withLock { content in
            content.resident.values.filter { tenantID == nil || $0.tenantID == tenantID }
        }.sorted { $0.id < $1.id }
    }

    /// How many experiments are in memory, and their estimated memory.
    var residentFootprint: (count: Int, bytes: Int) {
        content.withLock { ($0.resident.count, $0.residentBytes) }
    }

    /// Up to `count` experiments in memory, picked at random.
    func sampleResident(_ count: Int, using generator: inout some RandomNumberGenerator) -> [ExperimentRuntime] {
        content.withLock { content in
            guard !content.residentIDs.isEmpty else { return [] }
            return (0..<min(count, content.residentIDs.count)).compactMap { _ in
                content.resident[content.residentIDs[Int.random(in: 0..<content.residentIDs.count, using: &generator)]]
            }
        }
    }
}

extension Registry.Content {
    mutating func register(id: Int64, tenantID: Int64, key: String) {
        ids[Registry.ExperimentKey(tenantID: tenantID, key: key)] = id
        let index = Int(id)
        if index >= tenantOfExperiment.count {
            tenantOfExperiment.append(contentsOf: repeatElement(0, count: max(index + 1 - tenantOfExperiment.count, tenantOfExperiment.count / 2)))
        }
        tenantOfExperiment[index] = UInt32(truncatingIfNeeded: tenantID)
    }
}
