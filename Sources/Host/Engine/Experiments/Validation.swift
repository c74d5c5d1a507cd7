internal import JSON
internal import PluginHost

/// The checks of requests that need no database, so a bad request is refused
/// before anything is queued or created. Each error names its input.
enum Validation {
    /// A name (experiment key, arm, strategy, tenant, unit id): 1 to 200
    /// characters (Unicode scalars, as JSON Schema's `maxLength` counts),
    /// no control characters.
    static func name(_ value: String, what: String, at path: @autoclosure () -> InputPath) throws(EngineError) {
        // Printable ASCII (most names) needs no look at Unicode properties.
        let utf8 = value.utf8
        if !utf8.isEmpty, utf8.count <= Engine.Limits.nameLength, utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return }
        guard !value.isEmpty, value.unicodeScalars.count <= Engine.Limits.nameLength else {
            throw .invalid(at: path(), "\(what) must be 1 to \(Engine.Limits.nameLength) characters")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(at: path(), "\(what) '\(value.prefix(40))' contains a control character")
        }
    }

    /// New arm names: at least one, valid, distinct, and (a conflict with
    /// the experiment when not) not already in the experiment, the total
    /// within the limit.
    static func arms(_ names: [String], existing: [String], at path: InputPath) throws(EngineError) {
        guard !names.isEmpty || !existing.isEmpty else { throw .invalid(at: path, "an experiment needs at least one arm") }
        guard names.count <= Engine.Limits.armsPerExperiment else {
            throw .invalid(at: path, "an experiment has at most \(Engine.Limits.armsPerExperiment) arms; this lists \(names.count)")
        }
        for (index, name) in names.enumerated() {
            try Validation.name(name, what: "arm name", at: path + InputPath([.index(index)]))
        }
        // Repeats: by comparison for the usual few names (no hashing), by a set beyond.
        if names.count <= 32 {
            for index in names.indices.dropFirst() where names[..<index].contains(names[index]) {
                throw .invalid(at: path + InputPath([.index(index)]), "arm '\(names[index])' is listed twice")
            }
        } else {
            var seen = Set<String>()
            seen.reserveCapacity(names.count)
            for (index, name) in names.enumerated() where !seen.insert(name).inserted {
                throw .invalid(at: path + InputPath([.index(index)]), "arm '\(name)' is listed twice")
            }
        }
        guard !existing.isEmpty else { return }
        let known = Set(existing)
        if let index = names.firstIndex(where: known.contains) {
            throw .conflict(at: path + InputPath([.index(index)]), "arm '\(names[index])' exists already")
        }
        guard existing.count + names.count <= Engine.Limits.armsPerExperiment else {
            throw .conflict(at: path, "an experiment has at most \(Engine.Limits.armsPerExperiment) arms; this would make \(existing.count + names.count)")
        }
    }

    /// The inputs of a decision that need no experiment: the context's size
    /// and values, the unit id's length.
    static func decisionInputs(context: [Double]?, unitID: String?) throws(EngineError) {
        if let context {
            guard context.count <= Engine.Limits.contextLength else {
                throw .invalid(.context, "context has \(context.count) features; at most \(Engine.Limits.contextLength)")
            }
            if let index = context.firstIndex(where: { !$0.isFinite }) {
                throw .invalid(at: InputPath(.context, index), "context features must be finite numbers")
            }
        }
        if let unitID {
            try name(unitID, what: "unit_id", at: InputPath(.unitID))
        }
    }

    /// Strategy set-ups of a request (`strategies[i]`): valid names used
    /// once, loaded plugins, JSON objects of parameters, finite non-negative
    /// weights, at most the limit. Returns them with canonical configs.
    static func setups(_ setups: [StrategySetup], plugins: PluginLibrary) throws(EngineError) -> [StrategySetup] {
        guard setups.count <= Engine.Limits.strategiesPerExperiment else {
            throw .invalid(.strategies, "an experiment has at most \(Engine.Limits.strategiesPerExperiment) strategies")
        }
        var checked: [StrategySetup] = []
        for (index, setup) in setups.enumerated() {
            var canonical = setup
            canonical.config = try strategy(setup, plugins: plugins, index: index)
            guard !checked.contains(where: { $0.name == setup.name }) else {
                throw .invalid(at: InputPath(.strategies, index, .name), "strategy name '\(setup.name)' is used twice")
            }
            checked.append(canonical)
        }
        return checked
    }

    /// One strategy set-up, at `strategies[index]`. Returns the canonical config.
    static func strategy(_ setup: StrategySetup, plugins: PluginLibrary, index: Int) throws(EngineError) -> String {
        try name(setup.plugin, what: "plugin name", at: InputPath(.strategies, index, .plugin))
        try name(setup.name, what: "strategy name", at: InputPath(.strategies, index, .name))
        guard plugins.active(named: setup.plugin) != nil || !plugins.versions(named: setup.plugin).isEmpty else {
            let loaded = plugins.catalog.plugins.map(\.name).sorted().joined(separator: ", ")
            throw .conflict(at: InputPath(.strategies, index, .plugin),
                           "strategy '\(setup.name)': plugin '\(setup.plugin)' is not loaded (loaded: \(loaded))")
        }
        if let version = setup.pluginVersion {
            guard SemanticVersion(version) != nil else {
                throw .invalid(at: InputPath(.strategies, index, .pluginVersion),
                               "strategy '\(setup.name)': plugin_version must be MAJOR.MINOR.PATCH, got '\(version.prefix(40))'")
            }
            guard plugins.version(named: setup.plugin, version: version) != nil else {
                let resident = plugins.versions(named: setup.plugin).map(\.version.description).joined(separator: ", ")
                throw .conflict(at: InputPath(.strategies, index, .pluginVersion),
                               "strategy '\(setup.name)': version \(version) of plugin '\(setup.plugin)' is not loaded (loaded: \(resident))")
            }
        }
        guard setup.weight.isFinite, setup.weight >= 0 else {
            throw .invalid(at: InputPath(.strategies, index, .weight), "strategy '\(setup.name)': weight must be a finite number >= 0")
        }
        let text = setup.config.allSatisfy(\.isWhitespace) ? "{}" : setup.config
        guard let config = JSONValue(parsing: text), config.objectValue != nil else {
            throw .invalid(at: InputPath(.strategies, index, .config), "strategy '\(setup.name)': config must be a JSON object of parameters")
        }
        return config.text
    }

    /// A new instance of `setup`'s plugin with its configuration; a
    /// configuration the plugin refuses is an invalid `strategies[index].config`.
    static func makeInstance(_ setup: StrategySetup, index: Int, armCount: Int, plugins: PluginLibrary) throws(EngineError) -> StrategyInstance {
        guard let plugin = plugins.plugin(named: setup.plugin, pinned: setup.pluginVersion) else {
            throw .conflict(at: InputPath(.strategies, index, .plugin), "plugin '\(setup.plugin)' is not loaded")
        }
        do {
            return try plugin.makeInstance(config: setup.config, armCount: armCount)
        } catch {
            throw refusal(error, setup: setup, index: index)
        }
    }

    /// A plugin's refusal of a set-up: its configuration (refused by the
    /// plugin that is loaded, whose parameters the API document cannot
    /// describe) when the plugin refused its input, a plugin failure otherwise.
    static func refusal(_ error: PluginCallError, setup: StrategySetup, index: Int) -> EngineError {
        error.isInvalidInput
            ? .conflict(at: InputPath(.strategies, index, .config), "strategy '\(setup.name)': \(error.message)")
            : .plugin(error)
    }
}
