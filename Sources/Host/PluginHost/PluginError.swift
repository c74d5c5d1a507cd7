/// A plugin call that failed, with the plugin's own message.
public struct PluginCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The strategy that failed.
    public let strategy: String
    /// The ABI function that failed, e.g. "create".
    public let operation: String
    /// The `ARBITER_E_*` status it returned.
    public let status: Int32
    /// The plugin's message.
    public let message: String

    public var description: String { "\(strategy).\(operation) failed: \(message)" }

    /// True when the plugin refused its input (arguments, configuration or
    /// state) rather than failing on its own.
    public var isInvalidInput: Bool { (1...3).contains(status) }
}

/// A request the host refuses before it reaches a plugin.
public struct InvalidRequest: Error, Sendable, CustomStringConvertible {
    /// What is wrong, for people.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// A library the loader refused, and why.
public struct PluginRefusal: Error, Sendable, CustomStringConvertible {
    /// Path of the library file.
    public let path: String
    /// Why it was refused, for people.
    public let reason: String

    public var description: String { "\(path): \(reason)" }
}
