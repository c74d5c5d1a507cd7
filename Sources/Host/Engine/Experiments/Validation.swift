internal import PluginHost

/// Checks of experiment definitions that need no database, so a bad request
/// is refused before anything is queued.
enum Validation {
    /// A name (experiment key, arm, strategy): 1 to 200 bytes, no control characters.
    /// - Parameter field: the request field it came from, for the error.
    static func name(_ value: String, what: String, field: String) throws(EngineError) {
        guard !value.isEmpty, value.utf8.count <= Engine.Limits.nameLength else {
            throw .invalidRequest("\(what) must be 1 to \(Engine.Limits.nameLength) bytes", field: field)
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidRequest("\(what) '\(value.prefix(40))' contains a control character", field: field)
        }
    }

    /// New arm names: valid, distinct, not already in the experiment, and the
    /// total within the limit.
    static func arms(_ names: [String], existing: [String]) throws(EngineError) {
        guard existing.count + names.count <= Engine.Limits.armsPerExperiment else {
            throw .invalidArms("an experiment has at most \(Engine.Limits.armsPerExperiment) arms; this would make \(existing.count + names.count)")
        }
        var seen = Set(existing)
        for name in names {
            do { try Validation.name(name, what: "arm name", field: "arms") } catch { throw .invalidArms(error.description) }
            guard seen.insert(name).inserted else { throw .invalidArms("arm '\(name)' is listed twice or exists already") }
        }
    }

    /// A strategy set-up: a valid name, a loaded plugin, a JSON object of
    /// parameters, a finite non-negative weight. Returns the canonical config.
    static func strategy(_ setup: StrategySetup, catalog: PluginCatalog) throws(EngineError) -> String {
        do { try name(setup.name, what: "strategy name", field: "strategies") } catch { throw .invalidStrategy(error.description) }
        guard catalog.plugin(named: setup.plugin) != nil else {
            let loaded = catalog.plugins.map(\.name).sorted().joined(separator: ", ")
            throw .invalidStrategy("strategy '\(setup.name)': plugin '\(setup.plugin)' is not loaded (loaded: \(loaded))")
        }
        guard setup.weight.isFinite, setup.weight >= 0 else {
            throw .invalidStrategy("strategy '\(setup.name)': weight must be a finite number >= 0")
        }
        let text = setup.config.allSatisfy(\.isWhitespace) ? "{}" : setup.config
        guard let config = JSONValue(parsing: text), config.objectValue != nil else {
            throw .invalidStrategy("strategy '\(setup.name)': config must be a JSON object of parameters")
        }
        return config.text
    }
}
