internal import FoundationEssentials
internal import JSON

extension JSONWriter {
    /// Milliseconds since the epoch as an ISO 8601 timestamp string, or null.
    mutating func timestamp(_ milliseconds: Int64?) {
        guard let milliseconds else { return null() }
        string(Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601))
    }
}
