internal import Synchronization

/// Gives experiments and strategies their ids, in memory: an experiment
/// created on first use is in service before its row is written (with the
/// next batch, as decisions are), so its id cannot come from SQLite. The
/// counters start above the highest ids stored.
final class ExperimentIdentifiers: Sendable {
    private let experiments: Atomic<Int64>
    private let strategies: Atomic<Int64>

    init(highestExperiment: Int64, highestStrategy: Int64) {
        experiments = Atomic(highestExperiment)
        strategies = Atomic(highestStrategy)
    }

    func nextExperiment() -> Int64 {
        experiments.wrappingAdd(1, ordering: .relaxed).newValue
    }

    func nextStrategy() -> Int64 {
        strategies.wrappingAdd(1, ordering: .relaxed).newValue
    }
}
