/// One piece of feedback: a reward for a decision.
public struct FeedbackEvent: Sendable {
    /// Unique per tenant: a retried event with the same id is applied once.
    public var eventID: String
    /// The decision the reward is for.
    public var decisionID: String
    public var reward: Double
    /// Importance of the event, finite and >= 0.
    public var weight: Double
    /// Where the decision was made, carried by the event itself (feedback
    /// consumed from Kafka by several hosts, most of which never saw the
    /// decision); nil to look the decision up by its id.
    public var route: FeedbackRoute?

    public init(eventID: String, decisionID: String, reward: Double, weight: Double = 1, route: FeedbackRoute? = nil) {
        self.eventID = eventID
        self.decisionID = decisionID
        self.reward = reward
        self.weight = weight
        self.route = route
    }
}

/// The decision an event is for, named as the decision's answer names it:
/// enough for any host with the same experiments to learn from the event
/// without having made (or seen) the decision.
public struct FeedbackRoute: Sendable, Equatable {
    /// The experiment's key (in the event's tenant).
    public var experiment: String
    /// The name of the strategy that made the decision.
    public var strategy: String
    /// The arm it chose.
    public var arm: String

    public init(experiment: String, strategy: String, arm: String) {
        self.experiment = experiment
        self.strategy = strategy
        self.arm = arm
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

    /// What a rejected event was refused for.
    public enum Rejection: Sendable, Equatable {
        /// A member of the event is not acceptable: `event_id`, `reward` or `weight`.
        case invalid(Input)
        /// The decision id names no decision of this tenant.
        case unknownDecision
        /// The strategy that made the decision cannot learn: it was removed,
        /// or its plugin is not loaded.
        case strategyUnavailable
    }

    public var eventID: String
    public var status: Status
    public var reason: String?
    /// Set when `status` is `rejected`.
    public var rejection: Rejection?

    public init(eventID: String, status: Status, reason: String? = nil, rejection: Rejection? = nil) {
        self.eventID = eventID
        self.status = status
        self.reason = reason
        self.rejection = rejection
    }

    /// A rejected event.
    public static func rejected(_ eventID: String, _ rejection: Rejection, _ reason: String) -> FeedbackOutcome {
        FeedbackOutcome(eventID: eventID, status: .rejected, reason: reason, rejection: rejection)
    }
}
