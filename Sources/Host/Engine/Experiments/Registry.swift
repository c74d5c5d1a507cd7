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

    struct Tenants: Sendable {
        var byName: [String: TenantRecord] = [:]
        var byID: [Int64: TenantRecord] = [:]
    }

    struct Content: Sendable {
        /// Every experiment's id, by tenant and key.
        var ids: [ExperimentKey: Int64] = [:]
        /// Every experiment's tenant, by experiment id (ids are dense).
        var tenantOfExperiment: [UInt32] = []
        /// The experiments in memory.
        var resident: [Int64: ExperimentRuntime] = [:]
        /// Their ids, in no order: the ring the clock hand goes round.
        var residentIDs: [Int64] = []
        var residentPositions: [Int64: Int] = [:]
        /// The position in `residentIDs` the clock hand looks at next.
        var hand = 0
        /// Their estimated memory.
        var residentBytes = 0
        /// The lineages of the experiments in memory.
        var lineages: [Int64: Lineage] = [:]
    }

    /// Two locks: tenants are read by every request and rarely change;
    /// experiments change with every creation and eviction.
    private let tenantTable = Mutex(Tenants())
    private let content = Mutex(Content())

    // MARK: Tenants

    func tenant(named name: String) -> TenantRecord? {
        tenantTable.withLock { $0.byName[name] }
    }

    func tenant(id: Int64) -> TenantRecord? {
        tenantTable.withLock { $0.byID[id] }
    }

    var tenants: [TenantRecord] {
        tenantTable.withLock { Array($0.byID.values) }.sorted { $0.id < $1.id }
    }

    func add(tenant: TenantRecord) {
        tenantTable.withLock {
            $0.byName[tenant.name] = tenant
            $0.byID[tenant.id] = tenant
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

    /// The experiment `key` of the tenant named `tenant` (for the decision path).
    func experiment(tenantNamed tenant: String, key: String) -> Found {
        guard let record = self.tenant(named: tenant) else { return .unknownTenant }
        return content.withLock { content in
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
            content.makeResident(runtime)
            return runtime
        }
    }

    /// Puts a new experiment in memory unless its tenant has one of that key
    /// already (created by a concurrent request): false then.
    func installNew(_ runtime: ExperimentRuntime) -> Bool {
        content.withLock { content in
            guard content.ids[ExperimentKey(tenantID: runtime.tenantID, key: runtime.key)] == nil else { return false }
            content.makeResident(runtime)
            return true
        }
    }

    /// Adds a lineage to an experiment in memory (a strategy added by an update).
    func add(lineage: Lineage) {
        content.withLock { $0.lineages[lineage.id] = lineage }
    }

    /// Takes an experiment out of memory (it stays known by its key).
    func evict(id: Int64) {
        // Released (its instances destroyed) after the lock, not under it.
        let removed = content.withLock { $0.evict(id: id) }
        _ = removed
    }

    /// Up to `count` experiments in memory not used since the clock hand
    /// last passed them (the CLOCK approximation of least recently used: one
    /// bit per experiment, set by each use, no list kept in order on the
    /// decision path). The hand goes round the experiments in memory,
    /// clearing the bit of those used since its last pass and picking those
    /// whose bit it finds clear; it looks at no more than two rounds' worth.
    /// Nothing leaves memory here (see `evict(_:)`).
    func unusedSinceLastPass(_ count: Int) -> [ExperimentRuntime] {
        content.withLock { content in
            var picked: [ExperimentRuntime] = []
            picked.reserveCapacity(count)
            var looked = 0
            let limit = 2 * content.residentIDs.count
            while picked.count < count, looked < limit {
                if content.hand >= content.residentIDs.count { content.hand = 0 }
                let id = content.residentIDs[content.hand]
                content.hand += 1
                looked += 1
                guard let runtime = content.resident[id], !runtime.clearUse() else { continue }
                picked.append(runtime)
            }
            return picked
        }
    }

    /// Takes the given experiments out of memory, those still there and not
    /// used since they were picked (one short hold of the lock for the whole
    /// batch: every request takes it). Returns how many left and the
    /// estimated memory left in use.
    func evict(_ runtimes: [ExperimentRuntime]) -> (evicted: Int, remaining: Int) {
        let (evicted, remaining) = content.withLock { content in
            var taken: [ExperimentRuntime] = []
            taken.reserveCapacity(runtimes.count)
            for runtime in runtimes where !runtime.usedSinceCleared {
                if let removed = content.evict(id: runtime.id) { taken.append(removed) }
            }
            return (taken, content.residentBytes)
        }
        // The last references, released here, after the lock.
        return (evicted.count, remaining)
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
}

extension Registry.Content {
    /// Registers an experiment by its key and puts it in memory with its
    /// lineages (the reverse of `evict`).
    mutating func makeResident(_ runtime: ExperimentRuntime) {
        register(id: runtime.id, tenantID: runtime.tenantID, key: runtime.key)
        resident[runtime.id] = runtime
        residentPositions[runtime.id] = residentIDs.count
        residentIDs.append(runtime.id)
        residentBytes += runtime.estimatedBytes
        for lineage in runtime.shape.lineages { lineages[lineage.id] = lineage }
    }

    /// Takes an experiment out of memory and returns it (for the caller to
    /// release outside the lock).
    @discardableResult
    mutating func evict(id: Int64) -> ExperimentRuntime? {
        guard let runtime = resident.removeValue(forKey: id), let position = residentPositions.removeValue(forKey: id) else { return nil }
        let last = residentIDs.removeLast()
        if last != id {
            residentIDs[position] = last
            residentPositions[last] = position
        }
        residentBytes -= runtime.estimatedBytes
        for lineage in runtime.shape.lineages { lineages[lineage.id] = nil }
        return runtime
    }

    mutating func register(id: Int64, tenantID: Int64, key: String) {
        ids[Registry.ExperimentKey(tenantID: tenantID, key: key)] = id
        let index = Int(id)
        if index >= tenantOfExperiment.count {
            tenantOfExperiment.append(contentsOf: repeatElement(0, count: max(index + 1 - tenantOfExperiment.count, tenantOfExperiment.count / 2)))
        }
        tenantOfExperiment[index] = UInt32(truncatingIfNeeded: tenantID)
    }
}
