/// One logged decision, as off-policy evaluation sees it.
public struct LoggedDecision: Sendable, Equatable {
    /// The decision's id (its position in the log when there is none).
    public var id: UInt64
    /// When it was made, milliseconds since the epoch (or a step number).
    public var time: Int64
    /// The arms that were eligible, in the order the policy saw them.
    public var eligible: [UInt32]
    /// The arm the logging policy chose.
    public var arm: UInt32
    /// The logging policy's probability of choosing `arm` among `eligible`.
    public var propensity: Double

    public init(id: UInt64, time: Int64, eligible: [UInt32], arm: UInt32, propensity: Double) {
        self.id = id
        self.time = time
        self.eligible = eligible
        self.arm = arm
        self.propensity = propensity
    }
}

/// One piece of logged feedback for a logged decision.
public struct LoggedFeedback: Sendable, Equatable {
    /// The decision's index in `EvaluationLog.decisions`.
    public var decision: Int
    public var reward: Double
    /// Importance of the feedback, >= 0 (1 for plain feedback).
    public var weight: Double
    /// When it arrived; never before its decision.
    public var time: Int64

    public init(decision: Int, reward: Double, weight: Double = 1, time: Int64) {
        self.decision = decision
        self.reward = reward
        self.weight = weight
        self.time = time
    }
}

/// A log of decisions and their feedback, in time order: what the
/// evaluation replays. Built from an experiment's stored decisions and
/// events, or read from a file `arbiter simulate --log` wrote.
public struct EvaluationLog: Sendable {
    /// Arm names, in index order.
    public var arms: [String]
    /// In time order (ties in log order).
    public private(set) var decisions: [LoggedDecision]
    /// In time order (ties in log order).
    public private(set) var feedback: [LoggedFeedback]
    /// Each arm's true mean reward, when known (a simulation without drift):
    /// then the evaluation also computes each candidate's true value.
    public var armMeans: [Double]?

    /// Checks and orders a log.
    /// - Throws: `InvalidLog` naming the first entry that is wrong.
    public init(arms: [String], decisions: [LoggedDecision], feedback: [LoggedFeedback], armMeans: [Double]? = nil) throws(InvalidLog) {
        guard !arms.isEmpty else { throw InvalidLog("the log has no arms") }
        if let armMeans, armMeans.count != arms.count {
            throw InvalidLog("the log gives \(armMeans.count) arm means for \(arms.count) arms")
        }
        for decision in decisions {
            guard !decision.eligible.isEmpty else { throw InvalidLog("decision \(decision.id) has no eligible arm") }
            guard decision.eligible.allSatisfy({ Int($0) < arms.count }) else {
                throw InvalidLog("decision \(decision.id) lists an arm beyond the log's \(arms.count)")
            }
            guard decision.eligible.contains(decision.arm) else {
                throw InvalidLog("decision \(decision.id) chose arm \(decision.arm), which was not eligible")
            }
            guard decision.propensity.isFinite, decision.propensity > 0, decision.propensity <= 1 + 1e-9 else {
                throw InvalidLog("decision \(decision.id) has propensity \(decision.propensity), not in (0, 1]")
            }
        }
        var feedback = feedback
        for index in feedback.indices {
            let entry = feedback[index]
            guard decisions.indices.contains(entry.decision) else {
                throw InvalidLog("feedback \(index) is for decision \(entry.decision), which is not in the log")
            }
            guard entry.reward.isFinite, entry.weight.isFinite, entry.weight >= 0 else {
                throw InvalidLog("feedback \(index) has reward \(entry.reward) and weight \(entry.weight): both must be finite, the weight >= 0")
            }
            // Feedback never comes before its decision (a clock can say otherwise).
            feedback[index].time = max(entry.time, decisions[entry.decision].time)
        }
        self.arms = arms
        self.decisions = decisions
        self.feedback = feedback
        self.armMeans = armMeans
        sortIfNeeded()
    }

    /// Sorts by time, keeping log order among equal times, and renumbers the
    /// feedback's decision indices.
    private mutating func sortIfNeeded() {
        if !zip(decisions, decisions.dropFirst()).allSatisfy({ $0.time <= $1.time }) {
            let order = decisions.indices.sorted { (decisions[$0].time, $0) < (decisions[$1].time, $1) }
            var position = [Int](repeating: 0, count: decisions.count)
            for (new, old) in order.enumerated() { position[old] = new }
            decisions = order.map { decisions[$0] }
            for index in feedback.indices { feedback[index].decision = position[feedback[index].decision] }
        }
        if !zip(feedback, feedback.dropFirst()).allSatisfy({ $0.time <= $1.time }) {
            feedback = feedback.indices.sorted { (feedback[$0].time, $0) < (feedback[$1].time, $1) }.map { feedback[$0] }
        }
    }

    /// The decisions made from `start` (inclusive) to `end` (exclusive), and
    /// their feedback.
    public func window(from start: Int64?, to end: Int64?) -> EvaluationLog {
        guard start != nil || end != nil else { return self }
        var kept: [Int?] = Array(repeating: nil, count: decisions.count)
        var windowed: [LoggedDecision] = []
        for (index, decision) in decisions.enumerated()
        where start.map({ decision.time >= $0 }) ?? true && end.map({ decision.time < $0 }) ?? true {
            kept[index] = windowed.count
            windowed.append(decision)
        }
        var entries: [LoggedFeedback] = []
        for var entry in feedback {
            guard let index = kept[entry.decision] else { continue }
            entry.decision = index
            entries.append(entry)
        }
        var log = self
        log.decisions = windowed
        log.feedback = entries
        return log
    }
}

/// A log that cannot be evaluated, with what is wrong.
public struct InvalidLog: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
