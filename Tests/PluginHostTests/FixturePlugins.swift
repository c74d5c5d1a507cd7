import Foundation
import PluginHost
import TestSupport

/// Builds variants of Fixtures/fixture_plugin.c, each broken in one way.
enum FixturePlugins {
    static let source = TestPaths.file("Tests/PluginHostTests/Fixtures/fixture_plugin.c")

    /// Builds one variant into `directory` and returns its path.
    static func build(_ name: String, in directory: TemporaryDirectory, _ defines: [String] = []) throws -> String {
        let output = directory.file("lib\(name).so")
        try CCompiler.buildLibrary(source: source, output: output, defines: defines)
        return output
    }

    /// The path of a loaded fixture, or the reason it was refused.
    static func load(_ path: String) -> Result<StrategyPlugin, PluginRefusal> {
        PluginLoader().load(file: path)
    }
}

extension Result {
    /// The refusal reason, or nil when loading succeeded.
    var refusalReason: String? {
        if case let .failure(error) = self { return (error as? PluginRefusal)?.reason }
        return nil
    }

    var plugin: Success? {
        if case let .success(value) = self { return value }
        return nil
    }
}
