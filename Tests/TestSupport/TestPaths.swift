public import Foundation
public import PluginHost

/// Locations the tests need: the package, and the build folder that holds the
/// strategy libraries `swift build` produced beside the test bundle.
public enum TestPaths {
    /// The package root (this file is Tests/TestSupport/TestPaths.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The build folder of this test run, where the plugin libraries and the
    /// `arbiter` executable are (override with ARBITER_PLUGIN_DIR).
    public static var buildDirectory: String {
        PluginDirectory.resolve()
    }

    /// The public plugin header folder.
    public static var sdkInclude: String {
        packageRoot.appendingPathComponent("Plugins/SDK/include").path
    }

    /// The Python of the project's virtual environment (`scripts/setup` makes
    /// it), with the tools the tests run.
    public static var python: String {
        file(".venv/bin/python")
    }

    /// A file of the package, by its path from the root.
    public static func file(_ relativePath: String) -> String {
        packageRoot.appendingPathComponent(relativePath).path
    }
}

/// The first-party plugins, loaded once with a real dlopen from the build folder.
public enum FirstPartyPlugins {
    public static let catalog: PluginCatalog = {
        let libraries = ["libArbiterThompson.so", "libArbiterEpsilonGreedy.so", "libArbiterUCB.so"]
        return PluginLoader().load(files: libraries.map { TestPaths.buildDirectory + "/" + $0 })
    }()

    /// The plugin of one strategy; fails the test run with a clear message when
    /// the libraries were not built (run the README's test command).
    public static func plugin(_ name: String) -> StrategyPlugin {
        guard let plugin = catalog.plugin(named: name) else {
            fatalError("plugin '\(name)' is not loaded from \(TestPaths.buildDirectory) (refused: \(catalog.refused)); build it with `swift build` first")
        }
        return plugin
    }
}
