public import Storage

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

    /// Records feedback consumed from Kafka, and where consumption stands
    /// (`offsets`: the next offset of each partition the events came from),
    /// in the same transaction: a crash before it commits loses both, so
    /// the messages are read again; after it, neither. With no events, only
    /// the offsets are stored (messages that were all skipped).
    public func recordFeedback(tenant: String, _ events: [FeedbackEvent], offsets: [KafkaOffset]) async throws(EngineError) -> [FeedbackOutcome] {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        guard events.count <= Limits.eventsPerRequest else {
            throw .invalid(.events, "events has \(events.count) entries; at most \(Limits.eventsPerRequest) per request")
        }
        guard !events.isEmpty || !offsets.isEmpty else { return [] }
        let prepared = events.map { event in
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
        }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                do {
                    try pipeline.submit(.init(tenantID: tenantRecord.id, events: prepared, arrivedAt: .now, continuation: continuation,
                                              offsets: offsets))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } catch {
            throw EngineError(error)
        }
    }
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
