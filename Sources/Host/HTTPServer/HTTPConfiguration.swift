/// Settings of the HTTP server. `Docs/configuration.md` lists them with the
/// names they have in the config file, the environment and the flags.
public struct HTTPConfiguration: Sendable, Equatable {
    /// Address to listen on.
    /// Whether `/dashboard` is served.
    public var dashboard = true
    public var host = "127.0.0.1"
    /// Port to listen on; 0 picks a free one.
    public var port = 8080
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes = 2 * 1024 * 1024
    /// Connections open at once. At the limit, a new connection takes the
    /// place of the connection idle the longest; with none idle, it waits in
    /// the listen backlog until one closes.
    public var maxConnections = 1_024
    /// Longest a request head (request line and headers) may take to arrive,
    /// from its first byte: a client trickling it is cut off (408).
    public var headerTimeout: Duration = .seconds(10)
    /// Longest a connection may stay open with no request in progress, and
    /// longest a request body may pause between two reads.
    public var idleTimeout: Duration = .seconds(60)
    /// After an answer sent before its request's body was read (a 413, or any
    /// route that did not need the body), the rest of the body is read and
    /// discarded, so that a client that writes its whole body before reading
    /// gets the answer; at most this many bytes...
    public var discardBodyBytes = 64 * 1024 * 1024
    /// ...for at most this long; then the connection is closed.
    public var discardBodyTimeout: Duration = .seconds(30)

    public init() {}
}
