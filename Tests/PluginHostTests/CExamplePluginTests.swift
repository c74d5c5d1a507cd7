import Foundation
import PluginHost
import Testing
import TestSupport

@Suite("The C example plugin, built with a C compiler alone and loaded by the host")
struct CExamplePluginTests {
    /// Builds Plugins/Examples/Softmax/softmax.c the way its README says.
    func buildSoftmax() throws -> (StrategyPlugin, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let output = directory.file("libsoftmax.so")
        try Command.run("/usr/bin/env", [
            "cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
            "-I", TestPaths.sdkInclude, "-o", output,
            TestPaths.file("Plugins/Examples/Softmax/softmax.c"), "-lm",
        ])
        let catalog = PluginLoader().loadDirectory(directory.path)
        #expect(catalog.refused.isEmpty)
        let plugin = try #require(catalog.plugin(named: "softmax"))
        return (plugin, directory)
    }

    @Test("it loads, describes itself and learns")
    func loadsAndLearns() throws {
        let (plugin, directory) = try buildSoftmax()
        defer { directory.remove() }
        #expect(plugin.language == "c")
        #expect(plugin.version.description == "1.1.0")
        #expect(plugin.rewardRange.lowerBound == -.infinity)
        let instance = try plugin.makeInstance(config: #"{"temperature": 0.05}"#, armCount: 4)
        // Arm 2 pays 1, the others 0: after learning, softmax prefers it.
        var records: [FeedbackRecord] = []
        for arm in 0..<UInt32(4) {
            for _ in 0..<10 { records.append(FeedbackRecord(arm: arm, reward: arm == 2 ? 1 : 0)) }
        }
        try instance.update(records)
        var picks = 0
        for seed in 0..<UInt64(1000) {
            let decision = try instance.select(eligible: [0, 1, 2, 3], seed: seed)
            #expect(decision.fallback == nil)
            if decision.arm == 2 {
                picks += 1
                #expect(decision.propensity > 0.99)
            }
        }
        #expect(picks > 980)
        let inspected = try #require(try instance.inspect())
        #expect(inspected.hasPrefix("{\"arms\":[{\"arm\":0"))
    }

    @Test("its propensities are the softmax probabilities and sum to one")
    func propensities() throws {
        let (plugin, directory) = try buildSoftmax()
        defer { directory.remove() }
        let instance = try plugin.makeInstance(config: #"{"temperature": 0.5}"#, armCount: 3)
        try instance.update([FeedbackRecord(arm: 0, reward: 1), FeedbackRecord(arm: 1, reward: 0.5)])
        var propensity: [UInt32: Double] = [:]
        var counts: [UInt32: Int] = [:]
        let draws = 20_000
        for seed in 0..<UInt64(draws) {
            let decision = try instance.select(eligible: [0, 1, 2], seed: seed)
            propensity[decision.arm] = decision.propensity
            counts[decision.arm, default: 0] += 1
        }
        #expect(abs(propensity.values.reduce(0, +) - 1) < 1e-12)
        // exp(1/0.5), exp(0.5/0.5), exp(0) normalised.
        let weights = [exp(2.0), exp(1.0), 1.0]
        for arm in 0..<UInt32(3) {
            let expected = weights[Int(arm)] / weights.reduce(0, +)
            #expect(abs(propensity[arm]! - expected) < 1e-12)
            // Empirical frequency within 4 standard errors of the probability.
            let standardError = (expected * (1 - expected) / Double(draws)).squareRoot()
            #expect(abs(Double(counts[arm]!) / Double(draws) - expected) < 4 * standardError)
        }
        // ABI 1.1: the same probabilities for every eligible arm, in the order asked.
        #expect(plugin.givesProbabilities)
        var probabilities: [Double] = []
        try [UInt32(2), 0].withUnsafeBufferPointer { try instance.probabilities(eligible: $0, into: &probabilities) }
        let pair = weights[2] + weights[0]
        #expect(abs(probabilities[0] - weights[2] / pair) < 1e-12)
        #expect(abs(probabilities[1] - weights[0] / pair) < 1e-12)
    }

    @Test("state survives serialize and deserialize bit for bit")
    func stateRoundTrip() throws {
        let (plugin, directory) = try buildSoftmax()
        defer { directory.remove() }
        let instance = try plugin.makeInstance(armCount: 3)
        try instance.update([FeedbackRecord(arm: 0, reward: 0.25), FeedbackRecord(arm: 2, reward: -3, weight: 2)])
        let state = try instance.serialize()
        let restored = try plugin.restoreInstance(state: state)
        #expect(restored.armCount == 3)
        #expect(try restored.serialize() == state)
        for seed in 0..<UInt64(100) {
            #expect(try restored.select(eligible: [0, 1, 2], seed: seed) == instance.select(eligible: [0, 1, 2], seed: seed))
        }
    }

    @Test("a state that grew past the last serialized size is asked for again at its new size, whole")
    func serializeAfterGrowth() throws {
        let (plugin, directory) = try buildSoftmax()
        defer { directory.remove() }
        let instance = try plugin.makeInstance(armCount: 2)
        let small = try instance.serialize()
        try instance.addArms(200)
        try instance.update([FeedbackRecord(arm: 201, reward: 1.5)])
        let large = try instance.serialize()
        #expect(large.count > small.count + small.count / 4)
        let restored = try plugin.restoreInstance(state: large)
        #expect(restored.armCount == 202)
        #expect(try restored.serialize() == large)
        // Serialized again at the same size: the same bytes, none left over.
        #expect(try instance.serialize() == large)
    }

    @Test("bad configuration and bad feedback are refused and change nothing")
    func validation() throws {
        let (plugin, directory) = try buildSoftmax()
        defer { directory.remove() }
        #expect { try plugin.makeInstance(config: #"{"temperature": 0}"#, armCount: 2) } throws: { error in
            (error as? PluginCallError)?.message.contains("temperature") == true
        }
        #expect { try plugin.makeInstance(config: #"{"temprature": 1}"#, armCount: 2) } throws: { error in
            (error as? PluginCallError)?.message.contains("unknown parameter 'temprature'") == true
        }
        let instance = try plugin.makeInstance(armCount: 2)
        let before = try instance.serialize()
        #expect(throws: PluginCallError.self) {
            try instance.update([FeedbackRecord(arm: 0, reward: 1), FeedbackRecord(arm: 1, reward: .nan)])
        }
        #expect(try instance.serialize() == before)
    }
}
