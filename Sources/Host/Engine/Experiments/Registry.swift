internal import Storage
internal import Synchronization

/// Everything the engine knows at run time: tenants, experiments, and the
/// lineages (strategy instances) by id. Reads take one short lock.
final class Registry: Sendable {
    struct ExperimentKey: Hashable, Sendable {
        var tenantID: Int64
        var key: String
    }

    struct Content: Sendable {
        var tenantsByName: [String: TenantRecord] = [:]
        var tenantsByID: [Int64: TenantRecord] = [:]
        var experiments: [ExperimentKey: ExperimentRuntime] = [:]
        var experimentsByID: [Int64: ExperimentRuntime] = [:]
        var lineages: [Int64: Lineage] = [:]
    }

    private let content = Mutex(Content())

    func tenant(named name: String) -> TenantRecord? {
        content.withLock { $0.tenantsByName[name] }
    }

    func tenant(id: Int64) -> TenantRecord? {
        content.withLock { $0.tenantsByID[id] }
    }

    var tenants: [TenantRecord] {
        content.withLock { Array($0.tenantsByID.values) }.sorted { $0.id < $1.id }
    }

    func experiment(tenantID: Int64, key: String) -> ExperimentRuntime? {
        content.withLock { $0.experiments[ExperimentKey(tenantID: tenantID, key: key)] }
    }

    /// The experiment `key` of the tenant named `tenant` (one lock, for the decision path).
    func experiment(tenantNamed tenant: String, key: String) -> (tenant: TenantRecord?, experiment: ExperimentRuntime?) {
        content.withLock { content in
            guard let record = content.tenantsByName[tenant] else { return (nil, nil) }
            return (record, content.experiments[ExperimentKey(tenantID: record.id, key: key)])
        }
    }

    func experiment(id: Int64) -> ExperimentRuntime? {
        content.withLock { $0.experimentsByID[id] }
    }

    func experiments(tenantID: Int64?) -> [ExperimentRuntime] {
        content.withLock { content in
            content.experimentsByID.values.filter { tenantID == nil || $0.tenantID == tenantID }
        }.sorted { $0.id < $1.id }
    }

    func lineage(id: Int64) -> Lineage? {
        content.withLock { $0.lineages[id] }
    }

    var lineages: [Lineage] {
        content.withLock { Array($0.lineages.values) }.sorted { $0.id < $1.id }
    }

    func add(tenant: TenantRecord) {
        content.withLock {
            $0.tenantsByName[tenant.name] = tenant
            $0.tenantsByID[tenant.id] = tenant
        }
    }

    func add(experiment: ExperimentRuntime) {
        content.withLock {
            $0.experiments[ExperimentKey(tenantID: experiment.tenantID, key: experiment.key)] = experiment
            $0.experimentsByID[experiment.id] = experiment
            for lineage in experiment.shape.lineages { $0.lineages[lineage.id] = lineage }
        }
    }

    func add(lineage: Lineage) {
        content.withLock { $0.lineages[lineage.id] = lineage }
    }
}
