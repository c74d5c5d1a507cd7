import Evaluation
import PluginHost
import Testing
import TestSupport

/// The estimators on a log small enough to compute by hand (the working is
/// in the comments; the fractions were checked with exact arithmetic).
@Suite("Off-policy estimators on a hand-computed log")
struct EstimatorTests {
    /// Two arms, four decisions over both, each answered at once.
    let log = try! EvaluationLog(
        arms: ["a", "b"],
        decisions: [
            LoggedDecision(id: 1, time: 1, eligible: [0, 1], arm: 0, propensity: 0.5),
            LoggedDecision(id: 2, time: 2, eligible: [0, 1], arm: 1, propensity: 0.25),
            LoggedDecision(id: 3, time: 3, eligible: [0, 1], arm: 1, propensity: 0.5),
            LoggedDecision(id: 4, time: 4, eligible: [0, 1], arm: 0, propensity: 0.8),
        ],
        feedback: [
            LoggedFeedback(decision: 0, reward: 1, time: 1),
            LoggedFeedback(decision: 1, reward: 0, time: 2),
            LoggedFeedback(decision: 2, reward: 1, time: 3),
            LoggedFeedback(decision: 3, reward: 0, time: 4),
        ])

    /// ε-greedy with ε = 0.5 gives ε/2 + (1 − ε)/m to each of the m best arms:
    /// d1 both unseen (tie): π = (1/2, 1/2), w = 0.5/0.5 = 1, r = 1.
    /// d2 a = 1, b unseen = 0: π = (3/4, 1/4), logged b: w = 0.25/0.25 = 1, r = 0.
    /// d3 a = 1, b = 0: π = (3/4, 1/4), logged b: w = 0.25/0.5 = 1/2, r = 1.
    /// d4 a = 1, b = 1/2: π = (3/4, 1/4), logged a: w = 0.75/0.8 = 15/16, r = 0.
    /// IPS = (1 + 0 + 1/2 + 0)/4 = 3/8; SNIPS = (3/2)/(55/16) = 24/55.
    /// DR's model q̂(arm) = (sum + overall mean)/(weight + 1), from earlier feedback:
    /// d1 q̂ = (0, 0): 0 + 1·(1 − 0) = 1; d2 q̂ = (1, 1): 1 + 1·(0 − 1) = 0;
    /// d3 q̂ = (3/4, 1/4): 5/8 + 1/2·(1 − 1/4) = 1; d4 q̂ = (5/6, 5/9):
    /// 55/72 + 15/16·(0 − 5/6) = −5/288; DR = (2 − 5/288)/4 = 571/1152.
    @Test("IPS, SNIPS and DR values, their standard errors and the effective sample size")
    func handComputed() throws {
        let candidate = Candidate(label: "eg", plugin: FirstPartyPlugins.plugin("epsilon-greedy"), config: #"{"epsilon": 0.5}"#)
        let report = OffPolicyEvaluator().evaluate(log, candidates: [candidate])
        let result = try #require(report.candidates.first)
        #expect(result.failure == nil)
        #expect(result.decisions == 4)
        let ips = try #require(result.ips), snips = try #require(result.snips), dr = try #require(result.doublyRobust)
        #expect(abs(ips.value - 0.375) < 1e-15)
        #expect(abs(ips.standardError - 0.23935677693908453) < 1e-12)
        #expect(abs(snips.value - 24.0 / 55.0) < 1e-15)
        #expect(abs(snips.standardError - 0.2527522972978854) < 1e-12)
        #expect(abs(dr.value - 571.0 / 1152.0) < 1e-15)
        #expect(abs(dr.standardError - 0.291202559404585) < 1e-12)
        #expect(abs(result.effectiveSampleSize - 3.7765293383270913) < 1e-12)
        #expect(abs(ips.low - (0.375 - 1.959963984540054 * 0.23935677693908453)) < 1e-12)
        #expect(result.maxWeight == 1)
        #expect(abs(result.meanWeight - 55.0 / 64.0) < 1e-15)
        #expect(result.zeroSupportShare == 0)
        let logged = try #require(report.logged)
        #expect(logged.value == 0.5)
    }

    /// UCB1 is deterministic but for ties: it gives the logged arm 0 where it
    /// prefers the other, and those decisions are counted as unsupported.
    @Test("a deterministic candidate: zero support counted, weights 0 or 1/p")
    func zeroSupport() throws {
        let candidate = Candidate(label: "ucb", plugin: FirstPartyPlugins.plugin("ucb"))
        let result = try #require(OffPolicyEvaluator().evaluate(log, candidates: [candidate]).candidates.first)
        // d1: both unseen, tie: π(a) = 1/2. d2: b unseen (index +inf): π(b) = 1.
        // d3: a mean 1, b mean 0 at t = 2: a's index is larger, π(b) = 0.
        // d4: a = 1 + sqrt(2 ln 3 / 1), b = 1/2 + sqrt(2 ln 3 / 2): a, π(a) = 1.
        // w = (1, 4, 0, 1.25); IPS = (1 + 0 + 0 + 0)/4.
        #expect(result.zeroSupportShare == 0.25)
        #expect(result.maxWeight == 4)
        #expect(try #require(result.ips).value == 0.25)
    }

    @Test("decisions without feedback are left out, or counted at the reward asked for")
    func missingRewards() throws {
        var decisions = log.decisions
        decisions.append(LoggedDecision(id: 5, time: 5, eligible: [0, 1], arm: 1, propensity: 0.5))
        let longer = try EvaluationLog(arms: log.arms, decisions: decisions, feedback: log.feedback)
        let candidate = Candidate(label: "eg", plugin: FirstPartyPlugins.plugin("epsilon-greedy"), config: #"{"epsilon": 0.5}"#)
        let leftOut = OffPolicyEvaluator().evaluate(longer, candidates: [candidate])
        #expect(leftOut.decisionsLogged == 5)
        #expect(leftOut.decisionsWithFeedback == 4)
        #expect(leftOut.candidates[0].decisions == 4)
        #expect(leftOut.candidates[0].ips?.value == 0.375)
        let counted = OffPolicyEvaluator(missingReward: 0).evaluate(longer, candidates: [candidate])
        #expect(counted.candidates[0].decisions == 5)
        #expect(counted.candidates[0].ips?.value == 1.5 / 5)
    }

    @Test("a plugin without probabilities (ABI 1.0) is reported as not evaluable, the others still are")
    func unsupportedCandidate() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("libold.so")
        try CCompiler.buildLibrary(source: TestPaths.file("Tests/PluginHostTests/Fixtures/fixture_plugin.c"), output: path,
                                   defines: ["FIXTURE_ABI_1_0", "FIXTURE_NAME=\"old\""])
        let old = try PluginLoader().load(file: path).get()
        #expect(old.abiVersion == "1.0")
        #expect(!old.givesProbabilities)
        let report = OffPolicyEvaluator().evaluate(log, candidates: [
            Candidate(label: "old", plugin: old),
            Candidate(label: "eg", plugin: FirstPartyPlugins.plugin("epsilon-greedy")),
        ])
        #expect(report.candidates[0].failure?.contains("does not give the probabilities") == true)
        #expect(report.candidates[0].ips == nil)
        #expect(report.candidates[1].failure == nil)
    }

    @Test("rewards outside the candidate's range are a failure of that candidate, with the reason")
    func rewardOutOfRange() throws {
        let wide = try EvaluationLog(
            arms: ["a", "b"],
            decisions: [LoggedDecision(id: 1, time: 1, eligible: [0, 1], arm: 0, propensity: 0.5),
                        LoggedDecision(id: 2, time: 2, eligible: [0, 1], arm: 0, propensity: 0.5)],
            feedback: [LoggedFeedback(decision: 0, reward: 5, time: 1)])
        let result = OffPolicyEvaluator().evaluate(wide, candidates: [Candidate(label: "t", plugin: FirstPartyPlugins.plugin("thompson"))])
        #expect(result.candidates[0].failure?.contains("outside the rewards thompson accepts") == true)
    }

    @Test("a log out of order is put in time order; a bad entry is refused by name")
    func logChecks() throws {
        let shuffled = try EvaluationLog(
            arms: ["a", "b"],
            decisions: [LoggedDecision(id: 2, time: 5, eligible: [0, 1], arm: 1, propensity: 0.5),
                        LoggedDecision(id: 1, time: 1, eligible: [0, 1], arm: 0, propensity: 0.5)],
            feedback: [LoggedFeedback(decision: 0, reward: 1, time: 6), LoggedFeedback(decision: 1, reward: 0, time: 2)])
        #expect(shuffled.decisions.map(\.id) == [1, 2])
        #expect(shuffled.feedback.map(\.decision) == [0, 1])
        #expect(shuffled.feedback.map(\.reward) == [0, 1])
        #expect(throws: InvalidLog.self) {
            try EvaluationLog(arms: ["a"], decisions: [LoggedDecision(id: 7, time: 1, eligible: [0], arm: 0, propensity: 0)], feedback: [])
        }
        #expect(throws: InvalidLog.self) {
            try EvaluationLog(arms: ["a", "b"], decisions: [LoggedDecision(id: 7, time: 1, eligible: [0], arm: 1, propensity: 1)], feedback: [])
        }
    }
}
