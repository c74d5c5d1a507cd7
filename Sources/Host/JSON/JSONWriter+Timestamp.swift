extension JSONWriter {
    /// Milliseconds since the epoch as an RFC 3339 time (`RFC3339.text`), or null.
    public mutating func timestamp(_ milliseconds: Int64?) {
        guard let milliseconds else { return null() }
        string(RFC3339.text(milliseconds: milliseconds))
    }
}
