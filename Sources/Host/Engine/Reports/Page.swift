/// One page of a list and where the next one starts: every list the engine
/// gives is read a page at a time, so a list's memory does not grow with the
/// number of experiments.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// The cursor of the next page; nil on the last one. Opaque to callers.
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }

    public static var defaultLimit: Int { 100 }
    public static var maximumLimit: Int { 1_000 }

    /// The position a cursor names (0, the start, for none).
    static func position(_ cursor: String?) throws(EngineError) -> Int64 {
        guard let cursor else { return 0 }
        guard let position = Int64(cursor), position >= 0 else {
            throw .invalid(.cursor, "cursor '\(cursor.prefix(40))' is not one this server gave")
        }
        return position
    }

    /// Refuses a page size outside 1 to `maximumLimit`.
    static func check(_ limit: Int) throws(EngineError) {
        guard (1...maximumLimit).contains(limit) else {
            throw .invalid(.limit, "limit must be 1 to \(maximumLimit), got \(limit)")
        }
    }
}
