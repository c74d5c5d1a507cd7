internal import Dispatch
internal import Engine
internal import PluginHost
internal import Storage
internal import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Hands the consumer's prepared batches to the engine, in order, with up to
/// `depth` of them in flight: while the writer stores one, the next already
/// waits in its queue, so the writer never waits for the consumer.
///
/// Order is what exactly-once rests on (each group stores the offsets its
/// messages reach), so every group goes in one `FeedbackChain`: when one
/// fails in the writer (a full disk), the later ones fail unwritten; the
/// submitter then waits for every group in flight and submits them again,
/// in order, one at a time, until they are stored or the engine stops.
///
/// Everything but `hand` and `finish` runs on the submitter's serial queue,
/// which alone touches the state below (hence `@unchecked Sendable`).
final class BatchSubmitter: @unchecked Sendable {
    typealias Outcomes = [[FeedbackOutcome]]

    private let engine: Engine
    private let queue = DispatchQueue(label: "arbiter.kafka-submit")
    private let chain = FeedbackChain()
    /// Batches handed and not finished: the consumer waits for a free one.
    private let slots: DispatchSemaphore
    private let depth: Int
    /// Called on the submitter's queue when a batch is finished, with the
    /// outcomes of its groups stored (all, unless the engine stopped).
    private let finished: @Sendable (KafkaFeedbackConsumer.PreparedBatch, Outcomes) -> Void
    /// Whether the consumer is stopping (then only a full queue is waited for).
    private let isStopping: @Sendable () -> Bool
    /// Counts a submission tried again.
    private let retried: @Sendable (EngineError) -> Void
    private let log: @Sendable (String) -> Void

    /// A batch as its groups are answered.
    private final class Batch {
        let prepared: KafkaFeedbackConsumer.PreparedBatch
        var outcomes: [[FeedbackOutcome]?]
        var remaining: Int

        init(_ prepared: KafkaFeedbackConsumer.PreparedBatch) {
            self.prepared = prepared
            outcomes = Array(repeating: nil, count: prepared.groups.count)
            remaining = prepared.groups.count
        }
    }

    /// One group handed to the engine and not yet taken off the queue.
    private final class Unit: Sendable {
        let group: Int
        let answer = Mutex<Result<[FeedbackOutcome], EngineError>?>(nil)
        let answered = DispatchSemaphore(value: 0)

        init(group: Int) {
            self.group = group
        }
    }

    private var inFlight: [(batch: Batch, unit: Unit)] = []
    /// Set once the engine stopped taking feedback: nothing later is stored.
    private var abandoned = false

    init(engine: Engine, depth: Int, isStopping: @escaping @Sendable () -> Bool, retried: @escaping @Sendable (EngineError) -> Void,
         log: @escaping @Sendable (String) -> Void,
         finished: @escaping @Sendable (KafkaFeedbackConsumer.PreparedBatch, Outcomes) -> Void) {
        self.engine = engine
        self.depth = depth
        self.slots = DispatchSemaphore(value: depth)
        self.isStopping = isStopping
        self.retried = retried
        self.log = log
        self.finished = finished
    }

    /// Hands a batch over; blocks while `depth` batches are unfinished.
    func hand(_ prepared: KafkaFeedbackConsumer.PreparedBatch) {
        slots.wait()
        queue.async { [self] in send(Batch(prepared)) }
    }

    /// Returns once every batch handed is finished.
    func finish() {
        for _ in 0..<depth { slots.wait() }
        // Back at the initial value: libdispatch refuses to free one below it.
        for _ in 0..<depth { slots.signal() }
    }

    // MARK: On the submitter's queue

    private func send(_ batch: Batch) {
        for index in batch.prepared.groups.indices {
            let group = batch.prepared.groups[index]
            guard !abandoned else {
                settle(batch, index, nil)
                continue
            }
            guard let tenant = group.tenant, let feedback = group.feedback, feedback.count > 0 else {
                // Only offsets (every message skipped): stored by a command
                // of the writer's, after all that is in flight is stored.
                reap(waiting: true)
                let stored = abandoned ? nil : storeOffsets(group.offsets)
                if stored == nil { abandoned = true }
                settle(batch, index, stored)
                continue
            }
            guard let unit = submit(tenant: tenant, feedback, offsets: group.offsets, group: index) else {
                abandoned = true
                settle(batch, index, nil)
                continue
            }
            inFlight.append((batch, unit))
        }
        reap(waiting: false)
    }

    /// Takes the answered units off the front of the queue, in order;
    /// with `waiting`, every unit in flight.
    private func reap(waiting: Bool) {
        while let (batch, unit) = inFlight.first {
            if unit.answer.withLock({ $0 }) == nil {
                guard waiting else { return }
                unit.answered.wait()
            }
            switch unit.answer.withLock({ $0 })! {
            case let .success(outcomes):
                inFlight.removeFirst()
                settle(batch, unit.group, outcomes)
            case let .failure(error):
                recover(from: error)
            }
        }
    }

    /// The first unit in flight failed, so every later one fails too (the
    /// chain): once all are answered, each goes again, in order, one at a
    /// time, until stored or the engine stops.
    private func recover(from error: EngineError) {
        let units = inFlight
        inFlight = []
        for (_, unit) in units where unit.answer.withLock({ $0 }) == nil { unit.answered.wait() }
        log("kafka: a batch was not stored (\(error)); it and the \(units.count - 1) after it are submitted again, in order, until stored")
        var error = error
        for (batch, unit) in units {
            if !abandoned, case .success(let outcomes) = unit.answer.withLock({ $0 })! {
                // Answered before the failure reached the chain (the same
                // transaction cannot both fail and succeed): stored.
                settle(batch, unit.group, outcomes)
                continue
            }
            var outcomes: [FeedbackOutcome]?
            var delay = Self.firstDelay
            while !abandoned, outcomes == nil {
                guard waitToRetry(after: error, delay: &delay, unstored: "a batch") else {
                    abandoned = true
                    break
                }
                chain.resume()
                let group = batch.prepared.groups[unit.group]
                guard let tenant = group.tenant, let feedback = group.feedback,
                      let again = submit(tenant: tenant, feedback, offsets: group.offsets, group: unit.group) else {
                    abandoned = true
                    break
                }
                again.answered.wait()
                switch again.answer.withLock({ $0 })! {
                case let .success(stored): outcomes = stored
                case let .failure(failure): error = failure
                }
            }
            settle(batch, unit.group, outcomes)
        }
    }

    /// Queues a group, waiting while the queue is full; nil when the engine
    /// stops taking feedback (or the disk fails while the consumer stops).
    private func submit(tenant: String, _ feedback: Engine.PreparedFeedback, offsets: [KafkaOffset], group: Int) -> Unit? {
        var delay = Self.firstDelay
        while true {
            let unit = Unit(group: group)
            do throws(EngineError) {
                try engine.submitFeedback(tenant: tenant, feedback, offsets: offsets, chain: chain) { [queue] result in
                    unit.answer.withLock { $0 = result }
                    unit.answered.signal()
                    queue.async { [self] in reap(waiting: false) }
                }
                return unit
            } catch {
                if case .shuttingDown = error {
                    log("kafka: the engine is shutting down; \(feedback.count) events not applied will be read again at the next start")
                    return nil
                }
                // Backpressure (the queue is full) or a full disk: later.
                guard waitToRetry(after: error, delay: &delay, unstored: "\(feedback.count) events") else { return nil }
            }
        }
    }

    /// Stores offsets alone and waits for them, trying again while the
    /// write fails (a full disk); nil when not stored (the engine stopped).
    private func storeOffsets(_ offsets: [KafkaOffset]) -> [FeedbackOutcome]? {
        var delay = Self.firstDelay
        while true {
            let answer = Mutex<Result<Void, EngineError>?>(nil)
            let done = DispatchSemaphore(value: 0)
            let engine = self.engine
            Task {
                do throws(EngineError) {
                    try await engine.storeKafkaOffsets(offsets)
                    answer.withLock { $0 = .success(()) }
                } catch {
                    answer.withLock { $0 = .failure(error) }
                }
                done.signal()
            }
            done.wait()
            guard case .failure(let error) = answer.withLock({ $0 })! else { return [] }
            if case .shuttingDown = error { return nil }
            guard waitToRetry(after: error, delay: &delay, unstored: "the offsets of skipped messages") else { return nil }
        }
    }

    /// Records a group's end (stored with these outcomes, or not at all);
    /// a batch whose groups all ended is finished.
    private func settle(_ batch: Batch, _ group: Int, _ outcomes: [FeedbackOutcome]?) {
        batch.outcomes[group] = outcomes
        batch.remaining -= 1
        guard batch.remaining == 0 else { return }
        // The groups stored are the first ones: order is kept.
        var stored: Outcomes = []
        for outcomes in batch.outcomes {
            guard let outcomes else { break }
            stored.append(outcomes)
        }
        finished(batch.prepared, stored)
        slots.signal()
    }

    /// The wait before the first try again; it doubles, up to 2 s.
    private static let firstDelay = Duration.milliseconds(20)

    /// Waits before trying again what the engine refused or failed to store
    /// (a full queue, a full disk), and doubles the next wait; false when it
    /// is not to be tried again: the consumer is stopping and the failure is
    /// not a full queue (which drains), so `what` is read again at the next
    /// start instead of keeping the server from stopping.
    private func waitToRetry(after error: EngineError, delay: inout Duration, unstored what: String) -> Bool {
        let overloaded = if case .overloaded = error { true } else { false }
        if isStopping(), !overloaded {
            log("kafka: stopping with \(what) not stored (\(error)); they will be read again at the next start")
            return false
        }
        retried(error)
        usleep(useconds_t(delay.nanoseconds / 1_000))
        delay = min(delay * 2, .seconds(2))
        return true
    }
}
