internal import Storage

extension Engine {
    /// Records feedback and returns, in order, what became of each event. It
    /// returns once the events' batch is committed and applied: an `accepted`
    /// event is stored and learned from. A `duplicate` (an event id the tenant
    /// sent before, even before a restart) changes nothing.
    /// - Throws: `overloaded` when the queue is full, `diskFull` while the
    ///   disk is full, `unknownTenant`.
    public func recordFeedback(tenant: String, _ events: [FeedbackEvent]) async throws(EngineError) -> [FeedbackOutcome] {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        guard events.count <= Limits.eventsPerRequest else {
            throw .invalid(.events, "events has \(events.count) entries; at most \(Limits.eventsPerRequest) per request")
        }
        guard !events.isEmpty else { return [] }
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
                                               weight: event.weight, rejection: rejection)
        }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                do {
                    try pipeline.submit(.init(tenantID: tenantRecord.id, events: prepared, arrivedAt: .now, continuation: continuation))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } catch {
            throw EngineError(error)
        }
    }
}
