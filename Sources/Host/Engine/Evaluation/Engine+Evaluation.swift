public import Evaluation
public import PluginHost
internal import Storage
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// A strategy to evaluate, as a request names it.
public struct CandidateSpec: Sendable, Equatable {
    /// The name its results are reported under (unique in a request).
    public var label: String
    /// A loaded plugin's strategy name.
    public var plugin: String
    /// Its parameters, a JSON object.
    public var config: String

    public init(label: String, plugin: String, config: String = "{}") {
        self.label = label
        self.plugin = plugin
        self.config = config
    }
}

/// What an evaluation request asks for, besides its candidates.
public struct EvaluationWindow: Sendable, Equatable {
    /// Decisions made at or after (milliseconds since the epoch).
    public var since: Int64?
    /// Decisions made before.
    public var until: Int64?
    /// The reward of a decision without feedback; nil leaves those out.
    public var missingReward: Double?

    public init(since: Int64? = nil, until: Int64? = nil, missingReward: Double? = nil) {
        self.since = since
        self.until = until
        self.missingReward = missingReward
    }
}

extension Engine {
    /// Most candidates one evaluation may name.
    public static let maximumCandidates = 16
    /// The most of one core an evaluation served over HTTP takes while it runs.
    public static let evaluationCPUShare = 0.25

    /// Off-policy evaluation of `candidates` on the experiment's logged
    /// decisions in the window. The log is read on a connection of its own
    /// and the replay runs on a thread at the lowest scheduling priority,
    /// taking at most `evaluationCPUShare` of one core, so decisions keep
    /// their pace while it runs.
    public func evaluate(tenant: String, experiment key: String, candidates specs: [CandidateSpec],
                         window: EvaluationWindow = EvaluationWindow()) async throws(EngineError) -> EvaluationReport {
        // The decisions made until now are in the log it reads.
        try await flush()
        let experiment = try await storedExperiment(tenant: tenant, key: key)
        let candidates = try Self.candidates(specs, catalog: catalog, armCount: experiment.arms.count)
        if let reward = window.missingReward, !reward.isFinite {
            throw .invalid(.missingReward, "'missing_reward' must be a finite number")
        }
        let running = evaluationsRunning.add(1, ordering: .relaxed).newValue
        defer { evaluationsRunning.subtract(1, ordering: .relaxed) }
        guard running <= Limits.concurrentEvaluations else {
            throw .overloaded("\(Limits.concurrentEvaluations) evaluations are running: retry when one has finished")
        }
        let path = configuration.databasePath
        let result: Result<EvaluationReport, EngineError> = await LowPriorityThread.run {
            do {
                let store = try Store(path: path, migrate: false)
                let pace = CPUShare(share: Self.evaluationCPUShare)
                let log = try DecisionLogReader.read(store, experiment: experiment, from: window.since, to: window.until, pace: pace)
                return .success(OffPolicyEvaluator(missingReward: window.missingReward, pace: pace).evaluate(log, candidates: candidates))
            } catch {
                return .failure(EngineError(error))
            }
        }
        return try result.get()
    }

    /// Checks the candidates of a request: named once each, plugins loaded
    /// and able to give probabilities, configurations accepted.
    public static func candidates(_ specs: [CandidateSpec], catalog: PluginCatalog, armCount: Int) throws(EngineError) -> [Candidate] {
        guard !specs.isEmpty else { throw .invalid(.candidates, "name at least one candidate strategy") }
        guard specs.count <= maximumCandidates else {
            throw .invalid(.candidates, "at most \(maximumCandidates) candidates in one evaluation, got \(specs.count)")
        }
        var candidates: [Candidate] = []
        for (index, spec) in specs.enumerated() {
            guard !specs[..<index].contains(where: { $0.label == spec.label }) else {
                throw .invalid(at: InputPath(.candidates, index, .label), "candidate label '\(spec.label)' is used twice")
            }
            guard let plugin = catalog.plugin(named: spec.plugin) else {
                let loaded = catalog.plugins.map(\.name).sorted().joined(separator: ", ")
                throw .conflict(at: InputPath(.candidates, index, .plugin), "plugin '\(spec.plugin)' is not loaded (loaded: \(loaded))")
            }
            if let reason = plugin.evaluationUnsupportedReason {
                throw .conflict(at: InputPath(.candidates, index, .plugin), reason)
            }
            do {
                _ = try plugin.makeInstance(config: spec.config, armCount: max(armCount, 1))
            } catch {
                throw .invalid(at: InputPath(.candidates, index, .config), "\(spec.plugin) refuses the configuration: \(error.message)")
            }
            candidates.append(Candidate(label: spec.label, plugin: plugin, config: spec.config))
        }
        return candidates
    }
}

/// Runs work on a thread of its own at the lowest scheduling priority (nice
/// 19), off the shared threads of Swift concurrency: long computations beside
/// the decision path take only the CPU it leaves.
enum LowPriorityThread {
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let work = Box {
                #if canImport(Glibc)
                // On Linux the nice value is per thread: who = 0 is this thread alone.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
                #endif
                continuation.resume(returning: body())
            }
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { context in
                Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            }, Unmanaged.passRetained(work).toOpaque())
            if started == 0 {
                pthread_detach(thread)
            } else {
                // No thread: give back the reference passed to it and run here.
                Unmanaged.passUnretained(work).release()
                work.body()
            }
        }
    }

    private final class Box: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
