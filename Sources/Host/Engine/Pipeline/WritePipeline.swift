internal import Dispatch
internal import Logging
internal import PluginHost
internal import Storage
internal import Synchronization

/// The one writer of the database. Feedback, the decision log and every change
/// (experiments, versions) pass through its queue and are written by one
/// thread on one connection:
///
/// - feedback is gathered into micro-batches (up to `batchMaxSize` events, or
///   whatever arrived within `batchMaxWait` of the oldest); each batch is one
///   transaction holding the decisions logged since the last one, the events,
///   and each lineage's new watermark. Only after it commits are the events
///   applied to the live strategies and the callers answered: the in-memory
///   state never runs ahead of the stored one;
/// - decisions wait at most `decisionFlushInterval` before they are written,
///   so the decision path never waits for the disk;
/// - an experiment is created in memory and put in service at once; its rows
///   are written with the decisions, in the next batch (creation on first
///   use is as cheap as a decision this way: a transaction each allowed
///   3,300 per second);
/// - commands (change an experiment, save a version, roll back) run between
///   batches, each in its own transaction.
///
/// Both queues are bounded: when full, callers are told to retry later.
final class WritePipeline: Sendable {
    /// A feedback submission waiting for its batch.
    struct Submission: Sendable {
        let tenantID: Int64
        let events: [PreparedEvent]
        let arrivedAt: ContinuousClock.Instant
        /// Called on the writer thread once the batch is committed and
        /// applied (or failed): must be quick, and must not block.
        let completion: @Sendable (Result<[FeedbackOutcome], EngineError>) -> Void
        /// Kafka positions stored in the same transaction as these events.
        var offsets: [KafkaOffset] = []
        /// The ordered source this submission belongs to, if any: once one
        /// of its submissions fails, the later ones fail too until it is
        /// resumed, so none is stored ahead of one that failed.
        var chain: FeedbackChain? = nil
    }

    /// A feedback event after the checks that need no database.
    struct PreparedEvent: Sendable {
        let eventID: String
        let decisionID: UInt64
        let reward: Double
        let weight: Double
        /// The decision's route when the event carries it.
        var route: FeedbackRoute? = nil
        /// Set when the event is already refused: why, and the reason given.
        let rejection: (FeedbackOutcome.Rejection, String)?
    }

    /// Work for the writer thread with its own transaction. The decisions,
    /// new experiments and feedback queued before it are written first.
    struct Command: Sendable {
        let run: @Sendable (Writer) -> Void
    }

    private struct Queue: ~Copyable {
        var submissions: [Submission] = []
        var queuedEvents = 0
        var decisions: [DecisionRecord] = []
        var oldestDecision: ContinuousClock.Instant?
        var creations: [ExperimentRuntime] = []
        var commands: [Command] = []
        var stopping = false
    }

    private struct Taken {
        var submissions: [Submission] = []
        var decisions: [DecisionRecord] = []
        var creations: [ExperimentRuntime] = []
        var commands: [Command] = []
        var isEmpty: Bool { submissions.isEmpty && decisions.isEmpty && creations.isEmpty && commands.isEmpty }
    }

    let configuration: EngineConfiguration
    private let queue = Mutex(Queue())
    /// Set while the disk is full (the last batch failed with SQLITE_FULL):
    /// feedback is refused at once instead of queued for a write that fails.
    let diskFull = Atomic<Bool>(false)
    /// Decisions of failed batches the writer holds to write again: they
    /// count against `decisionLogCapacity`, so a disk full for long bounds
    /// the memory they take (decisions are then refused with `diskFull`).
    private let heldDecisions = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    let monitor = PipelineMonitor()

    init(configuration: EngineConfiguration) {
        self.configuration = configuration
    }

    /// Starts the writer thread with its exclusive state.
    func start(_ writer: sending Writer) {
        DispatchQueue(label: "arbiter.writer", qos: .userInitiated).async { [self, writer] in
            run(writer)
        }
    }

    /// False once shutdown began.
    var isAccepting: Bool {
        queue.withLock { !$0.stopping }
    }

    // MARK: Producers

    /// Queues a feedback submission; throws `overloaded` when the queue is full.
    func submit(_ submission: Submission) throws(EngineError) {
        if diskFull.load(ordering: .relaxed) {
            throw .diskFull("the disk is full: feedback cannot be stored now")
        }
        let accepted = queue.withLock { queue -> EngineError? in
            if queue.stopping { return .shuttingDown }
            if queue.queuedEvents + submission.events.count > configuration.queueCapacity, queue.queuedEvents > 0 {
                return .overloaded("the feedback queue is full (\(queue.queuedEvents) events waiting): retry later")
            }
            queue.submissions.append(submission)
            queue.queuedEvents += submission.events.count
            return nil
        }
        if let accepted { throw accepted }
        wake.signal()
    }

    /// Queues a decision for the log and returns the id it issued the
    /// decision (under the queue's lock, so the log receives increasing ids);
    /// throws `overloaded` when the log is too far behind.
    func log(_ decision: DecisionRecord, identifiers: DecisionIdentifiers) throws(EngineError) -> UInt64 {
        var decision = decision
        let (id, refusal, signal) = queue.withLock { queue -> (UInt64, EngineError?, Bool) in
            if queue.stopping { return (0, .shuttingDown, false) }
            let behind = queue.decisions.count + heldDecisions.load(ordering: .relaxed)
            guard behind < configuration.decisionLogCapacity else {
                if diskFull.load(ordering: .relaxed) {
                    return (0, .diskFull("the disk is full and \(behind) decisions wait to be written: retry later"), false)
                }
                return (0, .overloaded("the decision log is \(behind) decisions behind: retry later"), false)
            }
            decision.id = identifiers.next()
            queue.decisions.append(decision)
            if queue.oldestDecision == nil { queue.oldestDecision = .now }
            return (decision.id, nil, queue.decisions.count == 1 || queue.decisions.count == Self.decisionFlushSize)
        }
        if let refusal { throw refusal }
        if signal { wake.signal() }
        return id
    }

    /// Queues a new experiment's rows, written with the next batch of decisions.
    func log(creation runtime: ExperimentRuntime) throws(EngineError) {
        let (stopping, signal) = queue.withLock { queue -> (Bool, Bool) in
            if queue.stopping { return (true, false) }
            queue.creations.append(runtime)
            if queue.oldestDecision == nil { queue.oldestDecision = .now }
            return (false, queue.creations.count == 1 && queue.decisions.isEmpty)
        }
        guard !stopping else { throw .shuttingDown }
        if signal { wake.signal() }
    }

    /// Runs `body` on the writer thread, once what was queued before it is
    /// written, and returns its result.
    func perform<T: Sendable>(_ body: @escaping @Sendable (Writer) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let command = Command { writer in
                do { continuation.resume(returning: try body(writer)) } catch { continuation.resume(throwing: error) }
            }
            let stopping = queue.withLock { queue -> Bool in
                if queue.stopping { return true }
                queue.commands.append(command)
                return false
            }
            if stopping {
                continuation.resume(throwing: EngineError.shuttingDown)
            } else {
                wake.signal()
            }
        }
    }

    /// Stops taking work, drains the queues, saves every strategy with unsaved
    /// events, and returns when the writer thread is done.
    func shutdown() async {
        let first = queue.withLock { queue -> Bool in
            defer { queue.stopping = true }
            return !queue.stopping
        }
        guard first else { return }
        wake.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [finished] in
                finished.wait()
                finished.signal()
                continuation.resume()
            }
        }
    }

    // MARK: The writer thread

    /// Decisions flushed at once when this many are waiting.
    static let decisionFlushSize = 4_096

    /// How long a failed batch waits before it is written again when nothing
    /// new comes (the disk full: it is written once space returns).
    static let retryInterval: Duration = .seconds(1)

    private func run(_ writer: Writer) {
        while true {
            let (taken, stop) = nextWork(retrying: writer.hasPendingRetry)
            if !taken.submissions.isEmpty || !taken.decisions.isEmpty || !taken.creations.isEmpty || writer.hasPendingRetry {
                writer.commit(taken.submissions, decisions: taken.decisions, creations: taken.creations)
                diskFull.store(writer.lastFailure.map { if case .diskFull = $0 { true } else { false } } ?? false, ordering: .relaxed)
                heldDecisions.store(writer.heldDecisionCount, ordering: .relaxed)
            }
            for command in taken.commands {
                command.run(writer)
            }
            writer.saveDueVersions(force: false)
            writer.evictWhileOverBudget()
            writer.resetLogIfWanted()
            if stop { break }
        }
        writer.saveDueVersions(force: true)
        writer.logger.info("writer stopped: queues drained, strategies saved")
        finished.signal()
    }

    /// Blocks until there is due work; the flag is set when the pipeline is
    /// stopping and nothing is left.
    /// - Parameter retrying: a failed batch waits to be written again: return
    ///   after `retryInterval` even when nothing new comes.
    private func nextWork(retrying: Bool) -> (Taken, Bool) {
        let retryAt = ContinuousClock.now + Self.retryInterval
        while true {
            let now = ContinuousClock.now
            if retrying, now >= retryAt { return (Taken(), false) }
            var deadline = min(now + .seconds(1), retrying ? retryAt : now + .seconds(1))
            let (taken, stop, depths): (Taken, Bool, (Int, Int)) = queue.withLock { queue in
                var taken = Taken()
                // A command sees the store up to date: every experiment it may
                // change and every decision is written before it runs.
                let flushing = !queue.commands.isEmpty
                let feedbackDue = queue.queuedEvents >= configuration.batchMaxSize || queue.stopping || flushing
                    || queue.submissions.first.map { now - $0.arrivedAt >= configuration.batchMaxWait } ?? false
                let decisionsDue = queue.decisions.count + queue.creations.count >= Self.decisionFlushSize || queue.stopping || flushing
                    || queue.oldestDecision.map { now - $0 >= configuration.decisionFlushInterval } ?? false
                if !queue.commands.isEmpty {
                    swap(&taken.commands, &queue.commands)
                }
                if feedbackDue || (decisionsDue && !(queue.decisions.isEmpty && queue.creations.isEmpty)) {
                    var events = 0
                    var count = 0
                    for submission in queue.submissions {
                        if count > 0, events + submission.events.count > configuration.batchMaxSize { break }
                        events += submission.events.count
                        count += 1
                    }
                    taken.submissions = Array(queue.submissions.prefix(count))
                    queue.submissions.removeFirst(count)
                    queue.queuedEvents -= events
                    // Every decision logged before these submissions arrived goes
                    // into the same transaction, so their routes are there, and
                    // every experiment created before those decisions.
                    swap(&taken.decisions, &queue.decisions)
                    swap(&taken.creations, &queue.creations)
                    queue.oldestDecision = nil
                }
                if taken.isEmpty {
                    if let first = queue.submissions.first { deadline = min(deadline, first.arrivedAt + configuration.batchMaxWait) }
                    if let oldest = queue.oldestDecision { deadline = min(deadline, oldest + configuration.decisionFlushInterval) }
                }
                let drained = queue.submissions.isEmpty && queue.decisions.isEmpty && queue.commands.isEmpty && queue.creations.isEmpty
                return (taken, queue.stopping && drained, (queue.queuedEvents, queue.decisions.count))
            }
            monitor.statistics.withLock { statistics in
                statistics.queuedEvents = depths.0
                statistics.queuedDecisions = depths.1
            }
            if !taken.isEmpty || stop { return (taken, stop) }
            let wait = deadline - ContinuousClock.now
            if wait > .zero {
                let nanoseconds = wait.nanoseconds
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
            }
        }
    }
}
