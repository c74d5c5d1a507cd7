internal import Engine
internal import FoundationEssentials
internal import Hummingbird
internal import PluginHost
internal import Storage

extension RouteRegistrar {
    /// Experiments: create, read, list, change, archive; versions and rollback.
    mutating func registerExperiments() {
        let server = self.server
        let engine = server.engine
        add(.post, "/v1/experiments", .admin) { request, _, caller in
            let input = try await server.body(CreateExperimentRequest.self, of: request)
            let tenant = engine.tenant(named: caller.tenant)!
            let strategies = input.strategies?.map(\.setup)
                ?? [StrategySetup(plugin: input.strategy ?? tenant.defaultStrategy,
                                  config: input.config?.text ?? (input.strategy == nil ? tenant.defaultConfig : "{}"))]
            do throws(EngineError) {
                let info = try await engine.createExperiment(tenant: caller.tenant, ExperimentDefinition(
                    key: input.key, arms: input.arms, strategies: strategies, assignment: input.assignment ?? .random))
                return JSONBody.response(ExperimentResponse(info), status: .created)
            } catch {
                throw APIError.from(error, field: {
                    switch error {
                    case .invalidArms, .unknownArm: "arms"
                    case .invalidStrategy: input.strategies == nil ? "strategy" : "strategies"
                    default: nil
                    }
                }())
            }
        }
        add(.get, "/v1/experiments", .tenant) { _, _, caller in
            JSONBody.response(ExperimentListResponse(experiments: try engine.experiments(tenant: caller.tenant).map(ExperimentResponse.init)))
        }
        add(.get, "/v1/experiments/{key}", .tenant) { _, context, caller in
            JSONBody.response(ExperimentResponse(try engine.experiment(tenant: caller.tenant, key: try context.path("key"))))
        }
        add(.patch, "/v1/experiments/{key}", .admin) { request, context, caller in
            let key = try context.path("key")
            let current = try engine.experiment(tenant: caller.tenant, key: key)
            let input = try await server.body(UpdateExperimentRequest.self, of: request)
            // A strategy given without "config" keeps its current parameters (and
            // without "weight", its weight): only what is sent changes.
            let strategies = (input.strategies ?? []).map { strategy in
                var setup = strategy.setup
                if let existing = current.strategies.first(where: { $0.name == setup.name }) {
                    if strategy.config == nil { setup.config = existing.config }
                    if strategy.weight == nil { setup.weight = existing.weight }
                }
                return setup
            }
            do throws(EngineError) {
                let info = try await engine.updateExperiment(tenant: caller.tenant, experiment: key, ExperimentUpdate(
                    addArms: input.add_arms ?? [], strategies: strategies,
                    assignment: input.assignment, status: input.status))
                return JSONBody.response(ExperimentResponse(info))
            } catch {
                throw APIError.from(error, field: {
                    switch error {
                    case .invalidArms, .unknownArm: "add_arms"
                    default: nil
                    }
                }())
            }
        }
        add(.post, "/v1/experiments/{key}/archive", .admin) { _, context, caller in
            let info = try await engine.updateExperiment(tenant: caller.tenant, experiment: try context.path("key"),
                                                         ExperimentUpdate(status: .archived))
            return JSONBody.response(ExperimentResponse(info))
        }
        add(.get, "/v1/experiments/{key}/strategies/{strategy}/versions", .tenant) { _, context, caller in
            let key = try context.path("key")
            let strategy = try context.path("strategy")
            do throws(EngineError) {
                let versions = try engine.versions(tenant: caller.tenant, experiment: key, strategy: strategy)
                return JSONBody.response(VersionListResponse(versions: versions.map(VersionResponse.init)))
            } catch {
                throw APIError.from(error, field: error.isUnknownStrategy ? "strategy" : "key")
            }
        }
        add(.post, "/v1/experiments/{key}/strategies/{strategy}/rollback", .admin) { request, context, caller in
            let key = try context.path("key")
            let strategy = try context.path("strategy")
            _ = try engine.experiment(tenant: caller.tenant, key: key)
            let input = try await server.body(RollbackRequest.self, of: request)
            do throws(EngineError) {
                let version = try await engine.rollback(tenant: caller.tenant, experiment: key, strategy: strategy, to: input.version)
                return JSONBody.response(VersionResponse(version))
            } catch {
                throw APIError.from(error, field: {
                    switch error {
                    case .unknownStrategy: "strategy"
                    case .unknownVersion: "version"
                    default: nil
                    }
                }())
            }
        }
    }
}

extension EngineError {
    var isUnknownStrategy: Bool {
        if case .unknownStrategy = self { return true }
        return false
    }
}

// MARK: Bodies

struct StrategyInput: JSONReadable {
    let name: String?
    let plugin: String
    let config: JSONValue?
    let weight: Double?

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["name", "plugin", "config", "weight"])
        name = try fields.optionalString("name")
        plugin = try fields.string("plugin")
        config = try fields.optionalObject("config")
        weight = try fields.optionalNumber("weight")
    }

    var setup: StrategySetup {
        StrategySetup(name: name, plugin: plugin, config: config?.text ?? "{}", weight: weight ?? 1)
    }

    /// The strategies of a request member.
    static func list(_ fields: JSONFields, _ key: String) throws(APIError) -> [StrategyInput]? {
        guard let elements = try fields.optionalArray(key) else { return nil }
        var inputs: [StrategyInput] = []
        for (index, element) in elements.enumerated() {
            inputs.append(try StrategyInput(json: element, path: "\(fields.field(key))[\(index)]"))
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
}

struct RollbackRequest: JSONReadable {
    let version: Int

    init(json: JSONValue, path: String) throws(APIError) {
        version = try JSONFields(json, path: path, allowed: ["version"]).integer("version")
    }
}

struct ExperimentResponse: Encodable {
    struct Strategy: Encodable {
        let name, plugin: String
        let plugin_version: String?
        let config: JSONValue
        let weight, traffic_share: Double
        let active_version: Int
        let applied_through: Int64
        let unavailable: String?
    }

    let key, tenant: String
    let status: ExperimentStatus
    let assignment: Assignment
    let arms: [String]
    let strategies: [Strategy]
    let created_at, updated_at: String?

    init(_ info: ExperimentInfo) {
        key = info.key
        tenant = info.tenant
        status = info.status
        assignment = info.assignment
        arms = info.arms
        strategies = info.strategies.map {
            Strategy(name: $0.name, plugin: $0.plugin, plugin_version: $0.pluginVersion,
                     config: JSONValue(parsing: $0.config) ?? .object([:]), weight: $0.weight, traffic_share: $0.trafficShare,
                     active_version: $0.activeVersion, applied_through: $0.appliedThrough, unavailable: $0.unavailable)
        }
        created_at = timestamp(info.createdAt)
        updated_at = timestamp(info.updatedAt)
    }
}

struct ExperimentListResponse: Encodable {
    let experiments: [ExperimentResponse]
}

/// A model version as the API shows it: the engine's `VersionInfo`, encoded
/// with the API's field names.
struct VersionResponse: Encodable {
    let info: VersionInfo

    init(_ info: VersionInfo) {
        self.info = info
    }

    enum CodingKeys: String, CodingKey {
        case experiment, strategy, version, status, reason, watermark, checksum, state_format_version, state_size
        case plugin, plugin_version, config, restored_from, created_at
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(info.experiment, forKey: .experiment)
        try container.encode(info.strategy, forKey: .strategy)
        try container.encode(info.version, forKey: .version)
        try container.encode(info.status, forKey: .status)
        try container.encode(info.reason, forKey: .reason)
        try container.encode(info.watermark, forKey: .watermark)
        try container.encode(info.checksum, forKey: .checksum)
        try container.encode(info.stateFormatVersion, forKey: .state_format_version)
        try container.encode(info.stateSize, forKey: .state_size)
        try container.encode(info.pluginName, forKey: .plugin)
        try container.encode(info.pluginVersion, forKey: .plugin_version)
        try container.encode(JSONValue(parsing: info.config) ?? .object([:]), forKey: .config)
        try container.encodeIfPresent(info.restoredFrom, forKey: .restored_from)
        try container.encodeIfPresent(timestamp(info.createdAt), forKey: .created_at)
    }
}

struct VersionListResponse: Encodable {
    let versions: [VersionResponse]
}
