public import Evaluation
public import Storage
internal import SQLite

/// Builds an experiment's decision log, for off-policy evaluation, from the
/// stored decisions and events: every decision of the experiment in the
/// window, with its eligible arms, chosen arm and logged propensity, and
/// every event that is feedback for one of them. Reads only, in one read
/// transaction (one snapshot), so it is safe beside a running server.
public enum DecisionLogReader {
    /// - Parameter pace: when given, the reading keeps to that share of one core.
    public static func read(_ store: Store, experiment: ExperimentRecord, from start: Int64?, to end: Int64?,
                            pace: CPUShare? = nil) throws -> EvaluationLog {
        let (decisions, feedback) = try store.database.transaction(immediate: false) { () throws -> ([LoggedDecision], [LoggedFeedback]) in
            var decisions: [LoggedDecision] = []
            var shared: [UInt32] = []
            try store.forEachDecision(experimentID: experiment.id, from: start, to: end) { record in
                pace?.tick()
                // A decision logged without a usable propensity cannot be weighed.
                guard record.propensity.isFinite, record.propensity > 0, record.propensity <= 1 + 1e-9,
                      record.eligible.contains(UInt32(record.arm)) else { return }
                // Most decisions offer the same arms: one array serves them all.
                if record.eligible != shared { shared = record.eligible }
                decisions.append(LoggedDecision(id: record.id, time: record.createdAt, eligible: shared,
                                                arm: UInt32(record.arm), propensity: record.propensity))
            }
            var feedback: [LoggedFeedback] = []
            guard let first = decisions.first else { return (decisions, feedback) }
            try store.forEachEvent(after: 0, storedFrom: first.time) { event in
                pace?.tick()
                guard let index = position(of: event.decisionID, in: decisions) else { return }
                feedback.append(LoggedFeedback(decision: index, reward: event.reward, weight: event.weight, time: event.createdAt))
            }
            return (decisions, feedback)
        }
        return try EvaluationLog(arms: experiment.arms, decisions: decisions, feedback: feedback)
    }

    /// The index of decision `id` in `decisions` (in increasing id order, as
    /// the log is read), or nil.
    static func position(of id: UInt64, in decisions: [LoggedDecision]) -> Int? {
        var (low, high) = (0, decisions.count)
        while low < high {
            let middle = (low + high) / 2
            if decisions[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low < decisions.count && decisions[low].id == id ? low : nil
    }
}
