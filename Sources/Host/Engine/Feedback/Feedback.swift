/// One piece of feedback: a reward for a decision.
public struct FeedbackEvent: Sendable {
    /// Unique per tenant: a retried event with the same id is applied once.
    public var eventID: String
    /// The decision the reward is for.
    public var decisionID: String
    public var reward: Double
    /// Importance of the event, finite and >= 0.
    public var weight: Double

    public init(eventID: String, decisionID: String, reward: Double, weight: Double = 1) {
        self.eventID = eventID
        self.decisionID = decisionID
        self.reward = reward
        self.weight = weight
    }
}

/// What became of one feedback event.
public struct FeedbackOutcome: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Stored and learned from.
        case accepted
        /// An event with this id was accepted before; nothing changed.
        case duplicate
        /// Refused, for `reason`; nothing was written.
        case rejected
    }

    public var eventID: String
    public var status: Status
    public var reason: String?

    public init(eventID: String, status: Status, reason: String? = nil) {
        self.eventID = eventID
        self.status = status
        self.reason = reason
    }
}
