import Foundation
import PluginHost
import Testing
import TestSupport

@Suite("Plugin loader: every fault is a clear refusal, and loading carries on")
struct PluginLoaderTests {
    @Test("a file that is not a shared library is refused")
    func notALibrary() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("libnotalibrary.so")
        try "this is text, not ELF".write(toFile: path, atomically: true, encoding: .utf8)
        let reason = try #require(FixturePlugins.load(path).refusalReason)
        #expect(reason.contains("not a loadable shared library"))
    }

    @Test("a library without the entry symbol is refused")
    func noEntrySymbol() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = directory.file("plain.c")
        try "int plain_function(void) { return 42; }\n".write(toFile: source, atomically: true, encoding: .utf8)
        let path = directory.file("libplain.so")
        try CCompiler.buildLibrary(source: source, output: path)
        let reason = try #require(FixturePlugins.load(path).refusalReason)
        #expect(reason.contains("no 'arbiter_strategy_entry_v1' symbol"))
    }

    @Test("a plugin for another ABI major is refused with both versions named")
    func otherMajor() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bySymbol = try FixturePlugins.build("major2", in: directory, ["FIXTURE_ENTRY_MAJOR=2", "FIXTURE_VTABLE_MAJOR=2"])
        let reason = try #require(FixturePlugins.load(bySymbol).refusalReason)
        #expect(reason.contains("ABI major 2"))
        #expect(reason.contains("host speaks ABI \(hostABIVersion)"))

        let byVTable = try FixturePlugins.build("vtable3", in: directory, ["FIXTURE_VTABLE_MAJOR=3"])
        let vtableReason = try #require(FixturePlugins.load(byVTable).refusalReason)
        #expect(vtableReason.contains("ABI major 3"))
        #expect(vtableReason.contains("host speaks ABI \(hostABIVersion)"))
    }

    @Test("a plugin with a newer minor ABI version is accepted")
    func newerMinor() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try FixturePlugins.build("minor7", in: directory, ["FIXTURE_VTABLE_MINOR=7"])
        let plugin = try #require(FixturePlugins.load(path).plugin)
        #expect(plugin.abiVersion == "1.7")
        let instance = try plugin.makeInstance(armCount: 3)
        #expect(try instance.select(eligible: [2, 1], seed: 1).arm == 2)
    }

    @Test("a Swift plugin built by another toolchain is refused; the host's own toolchain is accepted")
    func foreignSwiftToolchain() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let foreign = try FixturePlugins.build("foreign", in: directory, [
            "FIXTURE_LANGUAGE=ARBITER_LANGUAGE_SWIFT", "FIXTURE_TOOLCHAIN=\"clang 15.0.0 (swift-5.9-RELEASE)\"",
        ])
        let reason = try #require(FixturePlugins.load(foreign).refusalReason)
        #expect(reason.contains("Swift plugin built by another toolchain"))
        #expect(reason.contains("clang 15.0.0 (swift-5.9-RELEASE)"))
        #expect(reason.contains(hostToolchainSignature))

        let escaped = hostToolchainSignature.replacingOccurrences(of: "\"", with: "\\\"")
        let same = try FixturePlugins.build("same", in: directory, [
            "FIXTURE_LANGUAGE=ARBITER_LANGUAGE_SWIFT", "FIXTURE_TOOLCHAIN=\"\(escaped)\"",
        ])
        let plugin = try #require(FixturePlugins.load(same).plugin)
        #expect(plugin.language == "swift")
        #expect(plugin.toolchain == hostToolchainSignature)
    }

    @Test("a C plugin is exempt from the toolchain check")
    func cPluginExempt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try FixturePlugins.build("cplugin", in: directory, ["FIXTURE_TOOLCHAIN=\"gcc 1.0 from elsewhere\""])
        let plugin = try #require(FixturePlugins.load(path).plugin)
        #expect(plugin.language == "c")
    }

    @Test("a plugin whose describe fails is refused with its message")
    func describeFails() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try FixturePlugins.build("nodescribe", in: directory, ["FIXTURE_DESCRIBE_FAILS"])
        let reason = try #require(FixturePlugins.load(path).refusalReason)
        #expect(reason.contains("describe failed"))
        #expect(reason.contains("fixture describe always fails"))
    }

    @Test("two plugins with one name: the newer version is kept and the other refused, saying so")
    func duplicateNames() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try FixturePlugins.build("dup-a", in: directory, ["FIXTURE_NAME=\"dup\"", "FIXTURE_VERSION=\"1.2.0\""])
        _ = try FixturePlugins.build("dup-b", in: directory, ["FIXTURE_NAME=\"dup\"", "FIXTURE_VERSION=\"1.10.0\""])
        _ = try FixturePlugins.build("dup-c", in: directory, ["FIXTURE_NAME=\"dup\"", "FIXTURE_VERSION=\"1.10.0-rc1\""])
        let catalog = PluginLoader().loadDirectory(directory.path)
        #expect(catalog.plugins.count == 1)
        #expect(catalog.plugin(named: "dup")?.version.description == "1.10.0")
        #expect(catalog.refused.count == 2)
        for refusal in catalog.refused {
            #expect(refusal.reason.contains("duplicate strategy 'dup'"))
            #expect(refusal.reason.contains("superseded by version 1.10.0"))
        }
    }

    @Test("one directory with every kind of fault: the good plugins still load")
    func mixedDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "junk".write(toFile: directory.file("libjunk.so"), atomically: true, encoding: .utf8)
        _ = try FixturePlugins.build("good", in: directory, ["FIXTURE_NAME=\"good\""])
        _ = try FixturePlugins.build("major2", in: directory, ["FIXTURE_ENTRY_MAJOR=2"])
        _ = try FixturePlugins.build("nodescribe", in: directory, ["FIXTURE_DESCRIBE_FAILS"])
        try "not a library either".write(toFile: directory.file("README.txt"), atomically: true, encoding: .utf8)
        let catalog = PluginLoader().loadDirectory(directory.path)
        #expect(catalog.plugins.map(\.name) == ["good"])
        #expect(catalog.refused.count == 3)
    }

    @Test("a missing plugin directory, or a file in its place, is a refusal saying which, not a crash")
    func missingDirectory() throws {
        let catalog = PluginLoader().loadDirectory("/nonexistent/arbiter/plugins")
        #expect(catalog.plugins.isEmpty)
        #expect(catalog.refused.first?.reason == "cannot read the plugin directory: it does not exist")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("plugins")
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(PluginLoader().loadDirectory(file).refused.first?.reason == "cannot read the plugin directory: it is not a directory")
    }
}

@Suite("ABI 1.1 grows the vtable: older plugins still load")
struct ABIGrowthTests {
    @Test("a plugin built for ABI 1.0 loads, decides, and says it cannot give probabilities")
    func abi10Plugin() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try FixturePlugins.build("old", in: directory, ["FIXTURE_ABI_1_0"])
        let plugin = try #require(FixturePlugins.load(path).plugin)
        #expect(plugin.abiVersion == "1.0")
        #expect(!plugin.givesProbabilities)
        #expect(plugin.evaluationUnsupportedReason?.contains("ABI 1.0") == true)
        let listing = PluginListing(PluginCatalog(plugins: [plugin], refused: [])).json
        #expect(listing.contains(#""gives_probabilities": false"#) || listing.contains(#""gives_probabilities":false"#), "\(listing)")
        let instance = try plugin.makeInstance(armCount: 3)
        #expect(try instance.select(eligible: [2, 1], seed: 1).arm == 2)
        var output: [Double] = []
        let error = #expect(throws: PluginCallError.self) {
            try [UInt32(0), 1].withUnsafeBufferPointer { try instance.probabilities(eligible: $0, into: &output) }
        }
        #expect(error?.message.contains("does not give the probabilities") == true)
    }

    @Test("a plugin's probabilities are checked: values that do not sum to 1 are its fault")
    func badProbabilities() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let good = try #require(FixturePlugins.load(try FixturePlugins.build("good", in: directory)).plugin)
        #expect(good.givesProbabilities)
        var output: [Double] = []
        try [UInt32(2), 0].withUnsafeBufferPointer { try good.makeInstance(armCount: 3).probabilities(eligible: $0, into: &output) }
        #expect(output == [1, 0])
        let bad = try #require(FixturePlugins.load(try FixturePlugins.build("bad", in: directory, ["FIXTURE_PROBABILITIES=1", "FIXTURE_NAME=\"bad\""])).plugin)
        let error = #expect(throws: PluginCallError.self) {
            try [UInt32(2), 0].withUnsafeBufferPointer { try bad.makeInstance(armCount: 3).probabilities(eligible: $0, into: &output) }
        }
        #expect(error?.message.contains("sum to 0.5") == true)
    }
}
