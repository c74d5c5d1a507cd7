import Evaluation
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import JSON
import PluginHost
import Simulation
import Testing
import TestSupport

/// Calibration where the truth is known: logs simulated on Bernoulli arms
/// whose means give each candidate's true value at every logged decision
/// (Σ π(a)·μ(a)), so the intervals can be checked against it.
@Suite("Off-policy evaluation is calibrated on seeded simulations")
struct CalibrationTests {
    static let logs = 100
    /// The seed's scenario: three agents, one clearly better.
    static let means = [0.3, 0.45, 0.7]
    static let horizon = 1_000

    static let candidates: [Candidate] = [
        Candidate(label: "thompson", plugin: FirstPartyPlugins.plugin("thompson")),
        Candidate(label: "epsilon-greedy", plugin: FirstPartyPlugins.plugin("epsilon-greedy")),
        Candidate(label: "ucb", plugin: FirstPartyPlugins.plugin("ucb")),
    ]

    /// Per candidate: how many of the 100 intervals held the truth, and the
    /// mean absolute errors.
    struct Tally {
        var ipsCovers = 0
        var snipsCovers = 0
        var drCovers = 0
        var ipsError = 0.0
        var drError = 0.0
        /// Logs on which the evaluation warned of low overlap.
        var flagged = 0
        var essShare = 0.0
    }

    /// The calibration of one logging policy, computed on a thread of its
    /// own at the lowest priority: seconds of CPU that would otherwise hold
    /// one of Swift concurrency's shared threads (one per core), which the
    /// servers of the tests running beside it need to answer.
    func calibrate(logging: StrategySpec) async throws -> [Tally] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Tally], any Error>) in
            let thread = Thread {
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
                continuation.resume(with: Result { try computeCalibration(logging: logging) })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    func computeCalibration(logging: StrategySpec) throws -> [Tally] {
        let simulator = Simulator(catalog: FirstPartyPlugins.catalog)
        var tallies = Array(repeating: Tally(), count: Self.candidates.count)
        for seed in 1...Self.logs {
            let settings = SimulationSettings(armMeans: Self.means, horizon: Self.horizon, runs: 1, seed: UInt64(seed))
            let log = try simulator.log(settings, strategy: logging)
            let report = OffPolicyEvaluator().evaluate(log, candidates: Self.candidates)
            for (index, result) in report.candidates.enumerated() {
                // A thread of its own has no test to record an expectation in: throw instead.
                guard result.failure == nil, let truth = result.truth, let ips = result.ips, let snips = result.snips,
                      let dr = result.doublyRobust else {
                    throw CalibrationFailure(message: "seed \(seed), \(result.label): not evaluated: \(result.failure ?? "no estimate")")
                }
                if ips.covers(truth) { tallies[index].ipsCovers += 1 }
                if snips.covers(truth) { tallies[index].snipsCovers += 1 }
                if dr.covers(truth) { tallies[index].drCovers += 1 }
                tallies[index].ipsError += abs(ips.value - truth) / Double(Self.logs)
                tallies[index].drError += abs(dr.value - truth) / Double(Self.logs)
                if result.warnings.contains(where: { $0.hasPrefix("low overlap") }) { tallies[index].flagged += 1 }
                tallies[index].essShare += result.effectiveSampleSize / Double(result.decisions) / Double(Self.logs)
            }
        }
        for (candidate, tally) in zip(Self.candidates, tallies) {
            print("logging \(logging.label), candidate \(candidate.label): IPS covers \(tally.ipsCovers), SNIPS \(tally.snipsCovers), DR \(tally.drCovers) of \(Self.logs); mean |error| IPS \(tally.ipsError), DR \(tally.drError); low overlap flagged in \(tally.flagged), mean ESS/n \(tally.essShare)")
        }
        return tallies
    }

    /// A nominal 95% interval holds the truth 95 times in 100 on average; 90
    /// leaves a margin of about 2.3 standard deviations of the count
    /// (sqrt(100 · 0.95 · 0.05) ≈ 2.2) for the normal approximation and the seeds.
    func checkCalibrated(_ tally: Tally, _ label: String) {
        #expect(tally.ipsCovers >= 90, "IPS of \(label)")
        #expect(tally.snipsCovers >= 90, "SNIPS of \(label)")
        #expect(tally.drError <= tally.ipsError, "DR's mean error against IPS's, \(label)")
        #expect(tally.flagged <= 10, "low overlap flagged on \(tally.flagged) logs of \(label)")
    }

    @Test("logged by epsilon-greedy 0.2: IPS and SNIPS intervals hold the truth in at least 90 of 100 logs, DR errs less than IPS")
    func epsilonGreedyLogs() async throws {
        let tallies = try await calibrate(logging: StrategySpec(label: "epsilon-greedy 0.2", plugin: "epsilon-greedy", parameters: ["epsilon": .number(0.2)]))
        for (candidate, tally) in zip(Self.candidates, tallies) { checkCalibrated(tally, candidate.label) }
    }

    /// Thompson sampling soon gives the weaker arms a few percent of the
    /// traffic. UCB, deterministic, then keeps choosing arms the log rarely
    /// shows (it learns from the logged feedback, in which those arms are
    /// rare, so their bounds stay high): a handful of decisions with weights
    /// of 20 to 60 carry its estimate, and no normal interval is honest there
    /// (IPS's covered the truth in about half the logs). So below an effective
    /// sample size of 30 the evaluation warns and gives empirical Bernstein
    /// bounds instead: measured, IPS 97, SNIPS 98, DR 98 of 100.
    @Test("logged by Thompson sampling: IPS and SNIPS intervals hold the truth in at least 90 of 100 logs for each candidate; UCB, with almost no overlap, is flagged")
    func thompsonLogs() async throws {
        let tallies = try await calibrate(logging: StrategySpec(label: "thompson", plugin: "thompson"))
        checkCalibrated(tallies[0], "thompson")
        // ε-greedy explores each arm a third of 10% of the time, where Thompson
        // sampling logs the weak arms at well under 1%: weights of 10 to 30,
        // rare, and a skewed IPS. With a plain standard error IPS covered 88
        // (the terms of an adaptive log are not independent); with batch
        // means, measured: IPS 90, SNIPS 96, DR 93. The bound is the issue's
        // 90, with no margin on IPS (the logs are seeded: the count is exact).
        #expect(tallies[1].ipsCovers >= 90, "IPS of epsilon-greedy")
        #expect(tallies[1].snipsCovers >= 90, "SNIPS of epsilon-greedy")
        #expect(tallies[1].drError <= tallies[1].ipsError)
        #expect(tallies[2].flagged >= 90, "low overlap flagged on \(tallies[2].flagged) logs of ucb")
        // There the intervals are empirical Bernstein bounds: wide, and true.
        #expect(tallies[2].ipsCovers >= 90, "IPS of ucb")
        #expect(tallies[2].snipsCovers >= 90, "SNIPS of ucb")
        #expect(tallies[2].drError <= tallies[2].ipsError)
    }
}

struct CalibrationFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
