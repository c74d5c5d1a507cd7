public import JSON

/// What was loaded and what was refused, as JSON: the form of
/// `arbiter plugins --format json` and of `GET /v1/plugins`.
public struct PluginListing: JSONWritable, Sendable {
    let catalog: PluginCatalog

    public init(_ catalog: PluginCatalog) {
        self.catalog = catalog
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
                    w.key("summary"); w.string(plugin.summary)
                    w.key("state_format_version"); w.integer(plugin.stateFormatVersion)
                    w.key("reward_min"); w.number(plugin.rewardRange.lowerBound)
                    w.key("reward_max"); w.number(plugin.rewardRange.upperBound)
                    w.key("faults"); w.integer(plugin.faults)
                    w.key("parameters"); w.value(JSONValue(parsing: plugin.parametersJSON))
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
