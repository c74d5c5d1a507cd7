import ArgumentParser
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
                print("  \(plugin.name) \(plugin.version)  ABI \(plugin.abiVersion)  state format \(plugin.stateFormatVersion)  \(plugin.language)"
                      + (plugin.givesProbabilities ? "" : "  (no probabilities: cannot be evaluated off-policy)"))
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
