import ArgumentParser
import FoundationEssentials
import Logging
import PluginHost

/// `arbiter plugins`: what was loaded and what was refused.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the strategy plugins that load, and every library refused with its reason."
    )

    @OptionGroup var plugins: PluginOptions

    @Option(help: "Output format: table or json.")
    var format: ListFormat = .table

    enum ListFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

    func run() throws {
        let catalog = plugins.load(logLevel: .critical)
        switch format {
        case .json:
            print(PluginListing(catalog).json)
        case .table:
            print("Loaded (\(catalog.plugins.count)), host ABI \(hostABIVersion):")
            for plugin in catalog.plugins {
                print("  \(plugin.name) \(plugin.version)  ABI \(plugin.abiVersion)  state format \(plugin.stateFormatVersion)  \(plugin.language)")
                print("    file: \(plugin.path)")
                print("    toolchain: \(plugin.toolchain)")
            }
            print("Refused (\(catalog.refused.count)):")
            for refusal in catalog.refused {
                print("  \(refusal.path)")
                print("    \(refusal.reason)")
            }
        }
    }
}

/// The JSON form of `arbiter plugins`.
struct PluginListing: Encodable {
    struct Loaded: Encodable {
        let name, version, abi_version, language, toolchain, file: String
        let state_format_version: UInt32
        let parameters: JSONValue?
    }

    struct Refused: Encodable {
        let file, reason: String
    }

    let host_abi_version: String
    let loaded: [Loaded]
    let refused: [Refused]

    init(_ catalog: PluginCatalog) {
        host_abi_version = hostABIVersion
        loaded = catalog.plugins.map {
            Loaded(name: $0.name, version: $0.version.description, abi_version: $0.abiVersion, language: $0.language,
                   toolchain: $0.toolchain, file: $0.path, state_format_version: $0.stateFormatVersion,
                   parameters: JSONValue(parsing: $0.parametersJSON))
        }
        refused = catalog.refused.map { Refused(file: $0.path, reason: $0.reason) }
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
