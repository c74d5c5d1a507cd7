@testable import Engine
import Foundation
import JSON
import Storage
import Testing
import TestSupport

@Suite("Feedback: routed to the deciding strategy, applied once, refused cleanly")
struct FeedbackTests {
    @Test("accepted, duplicate (also after a restart), and rejected events, in the order sent")
    func outcomes() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize")
            let outcomes = try await fixture.engine.recordFeedback(tenant: fixture.tenant, [
                FeedbackEvent(eventID: "e1", decisionID: decision.decisionID, reward: 1),
                FeedbackEvent(eventID: "e1", decisionID: decision.decisionID, reward: 1),
                FeedbackEvent(eventID: "e2", decisionID: "123456789", reward: 1),
                FeedbackEvent(eventID: "e3", decisionID: decision.decisionID, reward: .nan),
                FeedbackEvent(eventID: "e4", decisionID: decision.decisionID, reward: 7),
                FeedbackEvent(eventID: "", decisionID: decision.decisionID, reward: 1),
                FeedbackEvent(eventID: "e5", decisionID: "not-a-decision", reward: 1),
                FeedbackEvent(eventID: "e6", decisionID: decision.decisionID, reward: 0.5, weight: -1),
            ])
            #expect(outcomes.map(\.status) == [.accepted, .duplicate, .rejected, .rejected, .rejected, .rejected, .rejected, .rejected])
            #expect(outcomes[2].reason == "unknown decision_id '123456789'")
            #expect(outcomes[3].reason == "reward must be a finite number")
            #expect(outcomes[4].reason == "reward 7.0 is outside the range [0.0, 1.0] of strategy 'thompson'")
            let rejections: [FeedbackOutcome.Rejection?] = [nil, nil, .unknownDecision, .invalid(.reward), .invalid(.reward),
                                                            .invalid(.eventID), .unknownDecision, .invalid(.weight)]
            #expect(outcomes.map(\.rejection) == rejections)
            #expect(try fixture.store().eventCount() == 1, "only the accepted event was written")

            try await fixture.restart()
            let retried = try await fixture.engine.recordFeedback(tenant: fixture.tenant, [
                FeedbackEvent(eventID: "e1", decisionID: decision.decisionID, reward: 0),
            ])
            #expect(retried.map(\.status) == [.duplicate])
            #expect(try fixture.store().eventCount() == 1)
        }
    }

    @Test("feedback for decisions made before a restart is routed from the log, to the arm each decided")
    func afterRestart() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            var decisions: [DecisionResult] = []
            for _ in 0..<1_500 { decisions.append(try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize")) }
            try await fixture.restart()
            // Out of order, across two blocks of the log, with one id that was never issued.
            let events = decisions.enumerated().reversed().map { index, decision in
                FeedbackEvent(eventID: "late-\(index)", decisionID: decision.decisionID, reward: decision.arm == "a" ? 1 : 0)
            } + [FeedbackEvent(eventID: "late-x", decisionID: String(UInt64(decisions.last!.decisionID)! + 1), reward: 1)]
            let outcomes = try await fixture.engine.recordFeedback(tenant: fixture.tenant, events)
            #expect(outcomes.dropLast().allSatisfy { $0.status == .accepted })
            #expect(outcomes.last?.status == .rejected)
            let arms = try fixture.engine.armStatistics(tenant: fixture.tenant, experiment: "summarize")
            for arm in arms {
                let decided = decisions.filter { $0.arm == arm.name }.count
                #expect(arm.stats.feedbackCount == decided, "arm \(arm.name)")
                #expect(arm.stats.rewardSum == (arm.name == "a" ? Double(decided) : 0))
            }
        }
    }

    @Test("a tenant cannot send feedback for another tenant's decision")
    func tenantIsolation() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            _ = try await fixture.engine.ensureTenant("other")
            let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize")
            let outcomes = try await fixture.engine.recordFeedback(tenant: "other", [
                FeedbackEvent(eventID: "e1", decisionID: decision.decisionID, reward: 1),
            ])
            #expect(outcomes.map(\.status) == [.rejected])
            #expect(outcomes[0].reason?.contains("unknown decision_id") == true)
            // Event ids are unique per tenant: the owner can still use "e1".
            let own = try await fixture.engine.recordFeedback(tenant: fixture.tenant, [
                FeedbackEvent(eventID: "e1", decisionID: decision.decisionID, reward: 1),
            ])
            #expect(own.map(\.status) == [.accepted])
        }
    }

    @Test("feedback goes to the strategy that made the decision, even after a switch")
    func routing() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment(strategies: [StrategySetup(plugin: "thompson"), StrategySetup(plugin: "ucb", weight: 0)])
            let engine = fixture.engine
            let byThompson = try await engine.decide(tenant: fixture.tenant, experiment: "summarize")
            #expect(byThompson.strategy == "thompson")
            _ = try await engine.updateExperiment(tenant: fixture.tenant, experiment: "summarize", ExperimentUpdate(
                strategies: [StrategySetup(plugin: "thompson", weight: 0), StrategySetup(plugin: "ucb", weight: 1)]))
            let ucbBefore = try engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "ucb")
            let thompsonBefore = try engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson")
            let outcome = try await engine.recordFeedback(tenant: fixture.tenant, [
                FeedbackEvent(eventID: "late", decisionID: byThompson.decisionID, reward: 1),
            ])
            #expect(outcome.map(\.status) == [.accepted])
            #expect(try engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "ucb") == ucbBefore)
            #expect(try engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson") != thompsonBefore)
            let summary = try #require(try engine.inspect(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson")?.text)
            #expect(summary.contains(#""alpha":2"#), "the decided arm's posterior counts the success")
        }
    }

    @Test("per-arm statistics count decisions and feedback")
    func armStatistics() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            let outcomes = try await fixture.learn(count: 40)
            #expect(outcomes.allSatisfy { $0.status == .accepted })
            let arms = try fixture.engine.armStatistics(tenant: fixture.tenant, experiment: "summarize")
            #expect(arms.map(\.stats.decisions).reduce(0, +) == 40)
            #expect(arms.map(\.stats.feedbackCount).reduce(0, +) == 40)
            let a = try #require(arms.first { $0.name == "a" })
            #expect(a.stats.rewardSum == Double(a.stats.feedbackCount), "arm a always paid 1")
        }
    }

    @Test("event ids that differ only after a NUL character are two events, stored and read back whole")
    func eventIDsWithNUL() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize")
            let outcomes = try await fixture.engine.recordFeedback(tenant: fixture.tenant, [
                FeedbackEvent(eventID: "e\u{0}1", decisionID: decision.decisionID, reward: 1),
                FeedbackEvent(eventID: "e\u{0}2", decisionID: decision.decisionID, reward: 1),
                FeedbackEvent(eventID: "e\u{0}1", decisionID: decision.decisionID, reward: 1),
            ])
            #expect(outcomes.map(\.status) == [.accepted, .accepted, .duplicate])
            var stored: [String] = []
            try fixture.store().forEachEvent(after: 0) { stored.append($0.eventID) }
            #expect(stored == ["e\u{0}1", "e\u{0}2"])
        }
    }

    @Test("a full queue answers overloaded instead of growing")
    func overloaded() async throws {
        try await EngineFixture.with(configure: { configuration in
            configuration.queueCapacity = 10
            configuration.batchMaxSize = 1_000
            // Queued feedback stays queued (however slow the machine) until
            // the decision made at the end flushes it.
            configuration.batchMaxWait = .seconds(600)
        }) { fixture in
            try await fixture.createExperiment()
            let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize")
            // Let the decision reach the log first: a decision flush takes the
            // queued feedback along, which would empty the queue this test fills.
            try await fixture.engine.flush()
            let engine = fixture.engine
            let tenant = fixture.tenant
            let waiting = Task {
                try await engine.recordFeedback(tenant: tenant, (0..<8).map {
                    FeedbackEvent(eventID: "w\($0)", decisionID: decision.decisionID, reward: 1)
                })
            }
            // Wait until those 8 events are queued (the writer reports the depth when it wakes for them).
            while engine.statistics.queuedEvents < 8 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(engine.statistics.queuedEvents == 8)
            await #expect(throws: EngineError.self) {
                _ = try await engine.recordFeedback(tenant: tenant, (0..<5).map {
                    FeedbackEvent(eventID: "x\($0)", decisionID: decision.decisionID, reward: 1)
                })
            }
            // A decision's log flush takes the queued feedback along.
            _ = try await engine.decide(tenant: tenant, experiment: "summarize")
            let outcomes = try await waiting.value
            #expect(outcomes.allSatisfy { $0.status == .accepted })
        }
    }
}

@Suite("Recent decision routes")
struct RecentDecisionsTests {
    private func route(_ arm: Int) -> DecisionRoute {
        DecisionRoute(tenantID: 1, experimentID: 2, strategyID: 3, arm: arm)
    }

    @Test("a ring by the id's counter: found until a newer id takes the slot, then a miss")
    func ring() {
        var recent = RecentDecisions(capacity: 4)
        let boot: UInt64 = 7 << DecisionIdentifiers.counterBits
        for counter in 1...4 { recent.insert(boot | UInt64(counter), route(counter)) }
        for counter in 1...4 { #expect(recent.route(boot | UInt64(counter)) == route(counter)) }
        recent.insert(boot | 5, route(5))
        #expect(recent.route(boot | 1) == nil, "the oldest route made room")
        #expect(recent.route(boot | 5) == route(5))
        #expect(recent.route(boot | 9) == nil, "an id never inserted is a miss even where its slot is full")
        // An id of an earlier start maps to a slot by its counter too.
        let earlier: UInt64 = 6 << DecisionIdentifiers.counterBits | 1_000_003
        recent.insert(earlier, route(42))
        #expect(recent.route(earlier) == route(42))
        #expect(recent.route(boot | 3) == nil, "it replaced the route in its slot")
        #expect(recent.route(0) == nil)
    }
}
