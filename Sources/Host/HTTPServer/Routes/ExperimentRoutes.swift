internal import Access
internal import Engine
internal import Hummingbird
internal import JSON
internal import Storage

extension RouteRegistrar {
    /// Experiments: create, read, list, change, archive; versions and rollback.
    mutating func registerExperiments() {
        let server = self.server
        let engine = server.engine
        // The single-strategy form names the first strategy's plugin `strategy`
        // and its parameters `config`.
        let singleStrategy = FieldNames { path in
            let components = path.components
            guard components.count == 3, components[0] == .member(.strategies), components[1] == .index(0) else {
                return path.rendered()
            }
            return components[2] == .member(.config) ? "config" : "strategy"
        }
        add(.post, "/v1/experiments", .admin) { request, _, caller in
            let input = try await server.body(CreateExperimentRequest.self, of: request)
            do {
                let info = try await engine.createExperiment(tenant: caller.tenant, input.definition(tenant: engine.tenant(named: caller.tenant)),
                                                             actor: caller.principal?.keyID)
                return JSONBody.response(writing: ExperimentResponse(info), status: .created)
            } catch let error as EngineError {
                throw APIError(error, names: input.strategies == nil ? singleStrategy : .standard)
            }
        }
        add(.get, "/v1/experiments", .tenant) { request, _, caller in
            let page = try URLDecoding.page(of: request)
            let search = try URLDecoding.query("q", of: request)
            if let search, search.unicodeScalars.count > 200 {
                throw APIError.badRequest("q must be at most 200 characters", field: "q")
            }
            return JSONBody.response(writing: ExperimentListResponse(
                page: try engine.experiments(tenant: caller.tenant, after: page.cursor, limit: page.limit, containing: search)))
        }
        add(.get, "/v1/experiments/{key}", .tenant) { _, context, caller in
            JSONBody.response(writing: ExperimentResponse(try engine.experiment(tenant: caller.tenant, key: try context.path("key"))))
        }
        add(.patch, "/v1/experiments/{key}", .admin, names: .renaming([.arms: "add_arms"])) { request, context, caller in
            let key = try context.path("key")
            let current = try engine.experiment(tenant: caller.tenant, key: key)
            let input = try await server.body(UpdateExperimentRequest.self, of: request)
            let info = try await engine.updateExperiment(tenant: caller.tenant, experiment: key, input.update(current: current),
                                                         actor: caller.principal?.keyID)
            return JSONBody.response(writing: ExperimentResponse(info))
        }
        add(.post, "/v1/experiments/{key}/archive", .admin) { _, context, caller in
            let info = try await engine.updateExperiment(tenant: caller.tenant, experiment: try context.path("key"),
                                                         ExperimentUpdate(status: .archived), actor: caller.principal?.keyID)
            return JSONBody.response(writing: ExperimentResponse(info))
        }
        add(.get, "/v1/experiments/{key}/strategies/{strategy}/versions", .tenant) { request, context, caller in
            let page = try URLDecoding.page(of: request)
            let versions = try engine.versions(tenant: caller.tenant, experiment: try context.path("key"),
                                               strategy: try context.path("strategy"), after: page.cursor, limit: page.limit)
            return JSONBody.response(writing: VersionListResponse(versions: versions.items, next: versions.next))
        }
        add(.get, "/v1/experiments/{key}/changes", .tenant) { request, context, caller in
            let page = try URLDecoding.page(of: request)
            let trail = try engine.auditTrail(tenant: caller.tenant, experiment: try context.path("key"), after: page.cursor, limit: page.limit)
            return JSONBody.response(writing: AuditTrailResponse(page: trail))
        }
        add(.get, "/v1/changes", .admin) { request, _, caller in
            let page = try URLDecoding.page(of: request)
            let trail = try engine.auditTrail(tenant: caller.tenant, after: page.cursor, limit: page.limit)
            return JSONBody.response(writing: AuditTrailResponse(page: trail))
        }
        add(.post, "/v1/experiments/{key}/strategies/{strategy}/rollback", .admin) { request, context, caller in
            let key = try context.path("key")
            let strategy = try context.path("strategy")
            _ = try engine.experiment(tenant: caller.tenant, key: key)
            let input = try await server.body(RollbackRequest.self, of: request)
            let version = try await engine.rollback(tenant: caller.tenant, experiment: key, strategy: strategy, to: input.version,
                                                    actor: caller.principal?.keyID)
            return JSONBody.response(writing: VersionResponse(version))
        }
    }
}

// MARK: Bodies

struct StrategyInput {
    let name: String?
    let plugin: String
    let pluginVersion: String?
    let config: JSONValue?
    let weight: Double?

    init(_ fields: JSONFields) throws(APIError) {
        name = try fields.optionalString("name")
        plugin = try fields.string("plugin")
        pluginVersion = try fields.optionalString("plugin_version")
        config = try fields.optionalObject("config")
        weight = try fields.optionalNumber("weight")
    }

    var setup: StrategySetup {
        StrategySetup(name: name, plugin: plugin, config: config?.text ?? "{}", weight: weight ?? 1, pluginVersion: pluginVersion)
    }

    /// The strategies of a request member.
    static func list(_ fields: JSONFields, _ key: String) throws(APIError) -> [StrategyInput]? {
        guard let elements = try fields.optionalArray(key) else { return nil }
        var inputs: [StrategyInput] = []
        for (index, element) in elements.enumerated() {
            inputs.append(try StrategyInput(JSONFields(element, path: "\(fields.field(key))[\(index)]",
                                                       allowed: ["name", "plugin", "plugin_version", "config", "weight"])))
        }
        return inputs
    }
}

struct CreateExperimentRequest: JSONReadable {
    let key: String
    let arms: [String]
    let strategies: [StrategyInput]?
    let strategy: String?
    let config: JSONValue?
    let assignment: Assignment?

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["key", "arms", "strategies", "strategy", "config", "assignment"])
        key = try fields.string("key")
        arms = try fields.strings("arms")
        strategies = try StrategyInput.list(fields, "strategies")
        strategy = try fields.optionalString("strategy")
        config = try fields.optionalObject("config")
        assignment = try fields.optionalChoice("assignment", Assignment.self, options: ["random", "sticky"])
        if strategies != nil, strategy != nil || config != nil {
            throw APIError.badRequest("give either 'strategies' or 'strategy' (with 'config'), not both", field: "strategies")
        }
    }

    /// The definition, with the tenant's default strategy when none is given.
    func definition(tenant: TenantRecord?) -> ExperimentDefinition {
        let defaultStrategy = tenant?.defaultStrategy ?? TenantRecord.initialDefaultStrategy
        let setups = strategies?.map(\.setup)
            ?? [StrategySetup(plugin: strategy ?? defaultStrategy,
                              config: config?.text ?? (strategy == nil ? tenant?.defaultConfig ?? "{}" : "{}"))]
        return ExperimentDefinition(key: key, arms: arms, strategies: setups, assignment: assignment ?? .random)
    }
}

struct UpdateExperimentRequest: JSONReadable {
    let add_arms: [String]?
    let strategies: [StrategyInput]?
    let assignment: Assignment?
    let status: ExperimentStatus?

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["add_arms", "strategies", "assignment", "status"])
        add_arms = try fields.optionalStrings("add_arms")
        strategies = try StrategyInput.list(fields, "strategies")
        assignment = try fields.optionalChoice("assignment", Assignment.self, options: ["random", "sticky"])
        status = try fields.optionalChoice("status", ExperimentStatus.self, options: ["active", "archived"])
    }

    /// The change: a strategy given without "config" keeps its current
    /// parameters (and without "weight", its weight); only what is sent changes.
    func update(current: ExperimentInfo) -> ExperimentUpdate {
        let setups = (strategies ?? []).map { strategy in
            var setup = strategy.setup
            if let existing = current.strategies.first(where: { $0.name == setup.name }) {
                if strategy.config == nil { setup.config = existing.config }
                if strategy.weight == nil { setup.weight = existing.weight }
            }
            return setup
        }
        return ExperimentUpdate(addArms: add_arms ?? [], strategies: setups, assignment: assignment, status: status)
    }
}

struct RollbackRequest: JSONReadable {
    let version: Int

    init(json: JSONValue, path: String) throws(APIError) {
        version = try JSONFields(json, path: path, allowed: ["version"]).integer("version")
    }
}

struct ExperimentResponse: JSONWritable {
    let info: ExperimentInfo

    init(_ info: ExperimentInfo) {
        self.info = info
    }

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("key"); w.string(info.key)
            w.key("tenant"); w.string(info.tenant)
            w.key("status"); w.string(info.status.rawValue)
            w.key("assignment"); w.string(info.assignment.rawValue)
            w.key("arms"); w.array(info.arms)
            w.key("strategies")
            w.array(info.strategies) { w, strategy in
                w.object { w in
                    w.key("name"); w.string(strategy.name)
                    w.key("plugin"); w.string(strategy.plugin)
                    if let version = strategy.pluginVersion { w.key("plugin_version"); w.string(version) }
                    w.key("pinned"); w.bool(strategy.pinned)
                    w.key("config"); w.value(JSONValue(parsing: strategy.config) ?? .object([:]))
                    w.key("weight"); w.number(strategy.weight)
                    w.key("traffic_share"); w.number(strategy.trafficShare)
                    w.key("active_version"); w.integer(strategy.activeVersion)
                    w.key("applied_through"); w.integer(strategy.appliedThrough)
                    if let checksum = strategy.stateChecksum { w.key("state_checksum"); w.string(checksum) }
                    if let unavailable = strategy.unavailable { w.key("unavailable"); w.string(unavailable) }
                }
            }
            w.key("created_at"); w.timestamp(info.createdAt)
            w.key("updated_at"); w.timestamp(info.updatedAt)
        }
    }
}

struct ExperimentListResponse: JSONWritable {
    let page: Page<ExperimentInfo>

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("experiments")
            w.array(page.items) { w, info in ExperimentResponse(info).write(to: &w) }
            w.key("next"); w.string(page.next)
        }
    }
}

/// A model version as the API shows it (without the state).
struct VersionResponse: JSONWritable {
    let info: VersionInfo

    init(_ info: VersionInfo) {
        self.info = info
    }

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("experiment"); w.string(info.experiment)
            w.key("strategy"); w.string(info.strategy)
            w.key("version"); w.integer(info.version)
            w.key("status"); w.string(info.status.rawValue)
            w.key("reason"); w.string(info.reason.rawValue)
            w.key("watermark"); w.integer(info.watermark)
            w.key("checksum"); w.string(info.checksum)
            w.key("state_format_version"); w.integer(info.stateFormatVersion)
            w.key("state_size"); w.integer(info.stateSize)
            w.key("plugin"); w.string(info.pluginName)
            w.key("plugin_version"); w.string(info.pluginVersion)
            w.key("config"); w.value(JSONValue(parsing: info.config) ?? .object([:]))
            if let restoredFrom = info.restoredFrom { w.key("restored_from"); w.integer(restoredFrom) }
            w.key("created_at"); w.timestamp(info.createdAt)
        }
    }
}

struct VersionListResponse: JSONWritable {
    let versions: [VersionInfo]
    /// The cursor of the next page, for a paged list (a list of versions
    /// just written has none).
    var next: String?
    var paged = true

    init(versions: [VersionInfo], next: String?) {
        self.versions = versions
        self.next = next
    }

    /// Versions just written (not a page of a list).
    init(written versions: [VersionInfo]) {
        self.versions = versions
        paged = false
    }

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("versions")
            w.array(versions) { w, info in VersionResponse(info).write(to: &w) }
            if paged { w.key("next"); w.string(next) }
        }
    }
}

/// A page of the audit trail.
struct AuditTrailResponse: JSONWritable {
    let page: Page<AuditRecord>

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("changes")
            w.array(page.items) { w, change in
                w.object { w in
                    w.key("id"); w.string(String(change.id))
                    w.key("at"); w.timestamp(change.at)
                    w.key("actor"); w.value(change.actor)
                    w.key("subject"); w.string(change.subject)
                    w.key("action"); w.string(change.action)
                    w.key("before"); w.value(change.before.flatMap { JSONValue(parsing: $0) })
                    w.key("after"); w.value(change.after.flatMap { JSONValue(parsing: $0) })
                }
            }
            w.key("next"); w.value(page.next)
        }
    }
}
