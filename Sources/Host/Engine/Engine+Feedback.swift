public import Storage
internal import Synchronization

extension Engine {
    /// Records feedback and returns, in order, what became of each event. It
    /// returns once the events' batch is committed and applied: an `accepted`
    /// event is stored and learned from. A `duplicate` (an event id the tenant
    /// sent before, even before a restart) changes nothing.
    /// - Throws: `overloaded` when the queue is full, `diskFull` while the
    ///   disk is full, `unknownTenant`.
    public func recordFeedback(tenant: String, _ events: [FeedbackEvent]) async throws(EngineError) -> [FeedbackOutcome] {
        try await recordFeedback(tenant: tenant, events, offsets: [])
    }

    /// Records feedback, and where Kafka consumption stands
    /// (`offsets`: the next offset of each partition the events came from),
    /// in the same transaction: a crash before it commits loses both, so
    /// the messages are read again; after it, neither. With no events, only
    /// the offsets are stored (messages that were all skipped).
    public func recordFeedback(tenant: String, _ events: [FeedbackEvent], offsets: [KafkaOffset]) async throws(EngineError) -> [FeedbackOutcome] {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        guard events.count <= Limits.eventsPerRequest else {
            throw .invalid(.events, "events has \(events.count) entries; at most \(Limits.eventsPerRequest) per request")
        }
        let prepared = prepareFeedback(events)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<[FeedbackOutcome], EngineError>, Never>) in
            do throws(EngineError) {
                try submit(tenantID: tenantRecord.id, prepared, offsets: offsets, chain: nil) { continuation.resume(returning: $0) }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Feedback after the checks that need neither the database nor the
    /// writer (the form of each id, finite numbers), made on the caller's
    /// thread so the writer only routes and stores.
    public struct PreparedFeedback: Sendable {
        let events: [WritePipeline.PreparedEvent]

        public var count: Int { events.count }
    }

    /// Checks what can be checked without the database, event by event.
    public func prepareFeedback(_ events: [FeedbackEvent]) -> PreparedFeedback {
        PreparedFeedback(events: events.map { event in
            var rejection: (FeedbackOutcome.Rejection, String)?
            let decisionID = DecisionIdentifiers.parse(event.decisionID)
            if event.eventID.isEmpty || event.eventID.unicodeScalars.count > Limits.eventIDLength {
                rejection = (.invalid(.eventID), "event_id must be 1 to \(Limits.eventIDLength) characters")
            } else if decisionID == nil {
                // Not even the form of a decision id: no decision has it.
                rejection = (.unknownDecision, "unknown decision_id '\(event.decisionID.prefix(64))'")
            } else if !event.reward.isFinite {
                rejection = (.invalid(.reward), "reward must be a finite number")
            } else if !event.weight.isFinite || event.weight < 0 {
                rejection = (.invalid(.weight), "weight must be a finite number >= 0")
            }
            return WritePipeline.PreparedEvent(eventID: event.eventID, decisionID: decisionID ?? 0, reward: event.reward,
                                               weight: event.weight, route: event.route, rejection: rejection)
        })
    }

    /// Queues prepared feedback (and Kafka offsets, stored in the same
    /// transaction) and returns at once; `completion` is called on the
    /// writer thread when the batch is committed and applied, or failed. It
    /// must be quick and must not block. For callers on threads of their own
    /// (the Kafka consumer), without a task per batch.
    /// - Throws: `overloaded` when the queue is full, `diskFull` while the
    ///   disk is full, `unknownTenant`, `shuttingDown`; then `completion` is
    ///   never called.
    ///
    /// Submissions of one `chain` are stored in the order they were queued,
    /// or not at all: once one fails in the writer, every later one of the
    /// chain fails too (without being written) until `chain.resume()`. A
    /// caller may so keep several in flight and still store Kafka offsets in
    /// order: on a failure it waits for the others and submits them again,
    /// in order, after resuming the chain.
    public func submitFeedback(tenant: String, _ prepared: PreparedFeedback, offsets: [KafkaOffset], chain: FeedbackChain? = nil,
                               completion: @escaping @Sendable (Result<[FeedbackOutcome], EngineError>) -> Void) throws(EngineError) {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        try submit(tenantID: tenantRecord.id, prepared, offsets: offsets, chain: chain, completion: completion)
    }

    private func submit(tenantID: Int64, _ prepared: PreparedFeedback, offsets: [KafkaOffset], chain: FeedbackChain?,
                        completion: @escaping @Sendable (Result<[FeedbackOutcome], EngineError>) -> Void) throws(EngineError) {
        guard !prepared.events.isEmpty || !offsets.isEmpty else {
            completion(.success([]))
            return
        }
        try pipeline.submit(.init(tenantID: tenantID, events: prepared.events, arrivedAt: .now, completion: completion,
                                  offsets: offsets, chain: chain))
    }
}

/// Submissions of feedback that must be stored in order (a Kafka consumer's
/// batches, each with the offsets it reaches): after one fails in the
/// writer, the later ones fail too, unwritten, until the chain is resumed.
public final class FeedbackChain: Sendable {
    private let broken = Atomic<Bool>(false)

    public init() {}

    /// Set by the writer when a submission of the chain failed.
    var isBroken: Bool { broken.load(ordering: .acquiring) }

    func breakChain() { broken.store(true, ordering: .releasing) }

    /// Lets the chain's submissions be written again: call it once every
    /// submission in flight has been answered, before submitting the failed
    /// ones again.
    public func resume() { broken.store(false, ordering: .releasing) }
}

extension Engine {
    /// Where Kafka consumption stands, as stored with the feedback batches.
    public func kafkaOffsets() throws(EngineError) -> [KafkaOffset] {
        try read { store in try store.kafkaOffsets() }
    }
}

extension Engine {
    /// Stores where Kafka consumption stands when the messages since the
    /// last batch were all skipped (none went into a batch to carry it):
    /// after the feedback queued before it.
    public func storeKafkaOffsets(_ offsets: [KafkaOffset]) async throws(EngineError) {
        guard !offsets.isEmpty else { return }
        try await write { writer in try writer.store.storeKafkaOffsets(offsets, at: Store.now()) }
    }
}
