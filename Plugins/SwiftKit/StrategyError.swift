public import ArbiterABI

/// An error a strategy reports to the host: an ABI status code and a message.
public struct StrategyError: Error, Sendable, CustomStringConvertible {
    /// One of the `ARBITER_E_*` status codes.
    public let status: arbiter_status
    /// What went wrong, for people; copied into the host's error buffer.
    public let message: String

    public init(status: arbiter_status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// A request argument is invalid.
    public static func invalidArgument(_ message: String) -> StrategyError {
        StrategyError(status: ARBITER_E_INVALID_ARGUMENT, message)
    }

    /// A configuration parameter is malformed or out of range.
    public static func invalidConfig(_ message: String) -> StrategyError {
        StrategyError(status: ARBITER_E_INVALID_CONFIG, message)
    }

    /// A state blob cannot be read.
    public static func invalidState(_ message: String) -> StrategyError {
        StrategyError(status: ARBITER_E_INVALID_STATE, message)
    }

    /// The operation is not supported by this strategy.
    public static func unsupported(_ message: String) -> StrategyError {
        StrategyError(status: ARBITER_E_UNSUPPORTED, message)
    }

    public var description: String { message }
}
