// arbiter-bench: decisions/s and updates/s of every strategy through the C ABI,
// and the cost of the ABI path against a direct Swift call of the same code.
// Build and run with: scripts/bench plugins (release build, one thread).
import ArbiterABI
import ArbiterStrategyKit
import EpsilonGreedyStrategy
import PluginHost
import ThompsonStrategy
import UCBStrategy

#if canImport(Glibc)
import Glibc
#endif

/// The best of `rounds` timings of `body`, in seconds.
func measure(rounds: Int = 5, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.seconds
        best = min(best, seconds)
    }
    return best
}

/// Feedback that leaves a realistic posterior behind: arm i pays with probability (i + 1) / (2K).
func warmUpRecords(arms: Int, count: Int) -> [FeedbackRecord] {
    var seeds = SeedSequence(seed: 42)
    return (0..<count).map { _ in
        let arm = Int(seeds.next() % UInt64(arms))
        let p = Double(arm + 1) / Double(2 * arms)
        return FeedbackRecord(arm: UInt32(arm), reward: SeedSequence.unit(seeds.next()) < p ? 1 : 0)
    }
}

func rate(_ count: Int, _ seconds: Double) -> String {
    let value = Double(count) / seconds
    if value >= 1e6 { return "\((value / 1e5).rounded() / 10) M/s" }
    return "\((value / 1e2).rounded() / 10) k/s"
}

func nanoseconds(_ seconds: Double, per count: Int) -> String {
    "\((seconds / Double(count) * 1e10).rounded() / 10) ns"
}

let directory = CommandLine.arguments.dropFirst().first ?? PluginDirectory.resolve()
let catalog = PluginLoader().loadDirectory(directory)
guard !catalog.plugins.isEmpty else {
    print("no plugins found in \(directory)")
    exit(1)
}

let decisions = 1_000_000
let updateBatch = 1_000
let updateTotal = 5_000_000
let benchmarked: [(label: String, plugin: String, config: String)] = [
    ("thompson", "thompson", "{}"),
    ("epsilon-greedy", "epsilon-greedy", "{}"),
    ("ucb1", "ucb", "{\"variant\":\"ucb1\"}"),
    ("ucb1-tuned", "ucb", "{\"variant\":\"ucb1-tuned\"}"),
    ("kl-ucb", "ucb", "{\"variant\":\"kl-ucb\"}"),
]

print("Strategies through the C ABI (one thread, best of 5 rounds)")
print("strategy        K    decisions/s (with propensity)  decisions/s (no propensity)  updates/s (batches of \(updateBatch))")
for (label, name, config) in benchmarked {
    guard let plugin = catalog.plugin(named: name) else { continue }
    for arms in [10, 100] {
        let instance = try plugin.makeInstance(config: config, armCount: arms)
        try instance.update(warmUpRecords(arms: arms, count: 20_000))
        let eligible = (0..<arms).map(UInt32.init)
        var checksum: UInt64 = 0
        let count = name == "ucb" && config.contains("kl") ? decisions / 10 : decisions
        let withPropensity = try eligible.withUnsafeBufferPointer { arms in
            try measure {
                for seed in 0..<UInt64(count) {
                    checksum &+= UInt64(try instance.select(eligible: arms, seed: seed).arm)
                }
            }
        }
        let withoutPropensity = try eligible.withUnsafeBufferPointer { arms in
            try measure {
                for seed in 0..<UInt64(count) {
                    checksum &+= UInt64(try instance.select(eligible: arms, seed: seed, propensity: false).arm)
                }
            }
        }
        let batch = Array(warmUpRecords(arms: arms, count: updateBatch))
        let updates = try measure {
            for _ in 0..<(updateTotal / updateBatch) { try instance.update(batch) }
        }
        let column1 = rate(count, withPropensity).padding(31)
        let column2 = rate(count, withoutPropensity).padding(29)
        print("\(label.padding(15)) \(String(arms).padding(4)) \(column1)\(column2)\(rate(updateTotal, updates))   (checksum \(checksum % 10))")
    }
}

// The ABI path against a direct Swift call of the same code: rounds of the two
// are interleaved and the best of each is kept, so machine noise hits both alike.
print("")
print("Cost of the ABI path against a direct Swift call (K = 10, no propensity, best of 15 interleaved rounds)")
print("strategy        direct call    through the ABI   ABI overhead per call")
let directStrategies: [(String, String, String, any SelectionStrategy)] = try [
    ("thompson", "thompson", "{}", ThompsonSampling(parameters: StrategyParameters(json: "{}", specs: ThompsonSampling.descriptor.parameters), armCount: 10)),
    ("epsilon-greedy", "epsilon-greedy", "{}", EpsilonGreedy(parameters: StrategyParameters(json: "{}", specs: EpsilonGreedy.descriptor.parameters), armCount: 10)),
    ("ucb1", "ucb", "{}", UpperConfidenceBound(parameters: StrategyParameters(json: "{}", specs: UpperConfidenceBound.descriptor.parameters), armCount: 10)),
]
for (label, name, config, direct) in directStrategies {
    guard let plugin = catalog.plugin(named: name) else { continue }
    let instance = try plugin.makeInstance(config: config, armCount: 10)
    let warm = warmUpRecords(arms: 10, count: 20_000)
    try instance.update(warm)
    let raw = warm.map { record in
        var entry = arbiter_update_record()
        entry.arm = record.arm
        entry.reward = record.reward
        entry.weight = record.weight
        return entry
    }
    raw.withUnsafeBufferPointer { direct.apply($0) }
    let eligible = (0..<UInt32(10)).map { $0 }
    let calls = decisions / 4
    var checksum: UInt64 = 0
    var best = (direct: Double.infinity, abi: Double.infinity)
    try eligible.withUnsafeBufferPointer { arms in
        let noContext = UnsafeBufferPointer<Double>(start: nil, count: 0)
        for _ in 0..<15 {
            best.direct = min(best.direct, measure(rounds: 1) {
                for seed in 0..<UInt64(calls) {
                    let request = SelectionRequest(eligible: arms, context: noContext, seed: seed, wantsPropensity: false)
                    checksum &+= UInt64(direct.select(request, scores: nil).arm)
                }
            })
            best.abi = min(best.abi, try measure(rounds: 1) {
                for seed in 0..<UInt64(calls) {
                    checksum &+= UInt64(try instance.select(eligible: arms, seed: seed, propensity: false).arm)
                }
            })
        }
    }
    print("\(label.padding(15)) \(nanoseconds(best.direct, per: calls).padding(14)) \(nanoseconds(best.abi, per: calls).padding(17)) \(nanoseconds(best.abi - best.direct, per: calls))   (checksum \(checksum % 10))")
}

// Thompson sampling's propensity is a Monte Carlo estimate cached until the state
// changes: the cost of a decision that must re-estimate it (feedback arrived since
// the last decision over the same arms).
print("")
print("Thompson sampling: a decision right after feedback (the propensity is re-estimated)")
if let thompson = catalog.plugin(named: "thompson") {
    for arms in [10, 100] {
        let instance = try thompson.makeInstance(armCount: arms)
        try instance.update(warmUpRecords(arms: arms, count: 20_000))
        let eligible = (0..<arms).map(UInt32.init)
        let record = [FeedbackRecord(arm: 0, reward: 1)]
        let count = arms == 10 ? 2_000 : 200
        var checksum: UInt64 = 0
        let seconds = try eligible.withUnsafeBufferPointer { arms in
            try measure(rounds: 3) {
                for seed in 0..<UInt64(count) {
                    try instance.update(record)
                    checksum &+= UInt64(try instance.select(eligible: arms, seed: seed).arm)
                }
            }
        }
        print("K = \(arms): \(nanoseconds(seconds, per: count)) per decision with 1,000 propensity draws (checksum \(checksum % 10))")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
