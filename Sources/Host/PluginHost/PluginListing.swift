public import JSON

/// What was loaded and what was refused, as JSON: the form of
/// `arbiter plugins --format json` and of `GET /v1/plugins`.
public struct PluginListing: JSONWritable, Sendable {
    public let catalog: PluginCatalog
    /// Every resident version, with its use.
    public let versions: [Version]

    /// One resident version and where it is used.
    public struct Version: Sendable {
        public var plugin: StrategyPlugin
        public var active: Bool
        /// Strategies in memory that run it.
        public var strategies: Int
        /// The keys of some of their experiments (at most 10).
        public var experiments: [String]

        public init(plugin: StrategyPlugin, active: Bool, strategies: Int, experiments: [String]) {
            self.plugin = plugin
            self.active = active
            self.strategies = strategies
            self.experiments = experiments
        }
    }

    public init(_ catalog: PluginCatalog, versions: [Version]? = nil) {
        self.catalog = catalog
        self.versions = versions ?? catalog.plugins.map { Version(plugin: $0, active: true, strategies: 0, experiments: []) }
    }

    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("host_abi_version"); w.string(hostABIVersion)
            w.key("loaded")
            w.array(catalog.plugins) { w, plugin in
                w.object { w in
                    w.key("name"); w.string(plugin.name)
                    w.key("version"); w.string(plugin.version.description)
                    w.key("abi_version"); w.string(plugin.abiVersion)
                    w.key("gives_probabilities"); w.bool(plugin.givesProbabilities)
                    w.key("language"); w.string(plugin.language)
                    w.key("toolchain"); w.string(plugin.toolchain)
                    w.key("file"); w.string(plugin.path)
                    w.key("sha256"); w.string(plugin.sha256)
                    w.key("summary"); w.string(plugin.summary)
                    w.key("state_format_version"); w.integer(plugin.stateFormatVersion)
                    w.key("reward_min"); w.number(plugin.rewardRange.lowerBound)
                    w.key("reward_max"); w.number(plugin.rewardRange.upperBound)
                    w.key("faults"); w.integer(plugin.faults)
                    w.key("parameters"); w.value(JSONValue(parsing: plugin.parametersJSON))
                }
            }
            w.key("versions")
            w.array(versions) { w, version in
                w.object { w in
                    w.key("name"); w.string(version.plugin.name)
                    w.key("version"); w.string(version.plugin.version.description)
                    w.key("sha256"); w.string(version.plugin.sha256)
                    w.key("active"); w.bool(version.active)
                    w.key("abi_version"); w.string(version.plugin.abiVersion)
                    w.key("state_format_version"); w.integer(version.plugin.stateFormatVersion)
                    w.key("file"); w.string(version.plugin.path)
                    w.key("loaded_from"); w.string(version.plugin.loadedFrom)
                    w.key("strategies"); w.integer(version.strategies)
                    w.key("experiments"); w.array(version.experiments) { w, key in w.string(key) }
                    w.key("faults"); w.integer(version.plugin.faults)
                }
            }
            w.key("refused")
            w.array(catalog.refused) { w, refusal in
                w.object { w in
                    w.key("file"); w.string(refusal.path)
                    w.key("reason"); w.string(refusal.reason)
                }
            }
        }
    }

    /// Indented JSON, for people.
    public var json: String {
        JSONWriter.text(of: self, pretty: true)
    }
}
