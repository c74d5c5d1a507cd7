internal import FoundationEssentials

/// What was loaded and what was refused, as JSON: the form of
/// `arbiter plugins --format json` and of `GET /v1/plugins`.
public struct PluginListing: Encodable, Sendable {
    public struct Loaded: Encodable, Sendable {
        let name, version, abi_version, language, toolchain, file, summary: String
        let state_format_version: UInt32
        let reward_min, reward_max: Double?
        let faults: Int
        let parameters: JSONValue?
    }

    public struct Refused: Encodable, Sendable {
        let file, reason: String
    }

    let host_abi_version: String
    let loaded: [Loaded]
    let refused: [Refused]

    public init(_ catalog: PluginCatalog) {
        host_abi_version = hostABIVersion
        loaded = catalog.plugins.map {
            Loaded(name: $0.name, version: $0.version.description, abi_version: $0.abiVersion, language: $0.language,
                   toolchain: $0.toolchain, file: $0.path, summary: $0.summary, state_format_version: $0.stateFormatVersion,
                   reward_min: $0.rewardRange.lowerBound.isFinite ? $0.rewardRange.lowerBound : nil,
                   reward_max: $0.rewardRange.upperBound.isFinite ? $0.rewardRange.upperBound : nil,
                   faults: $0.faults, parameters: JSONValue(parsing: $0.parametersJSON))
        }
        refused = catalog.refused.map { Refused(file: $0.path, reason: $0.reason) }
    }

    /// Pretty JSON with sorted keys.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
