/// Settings of the HTTP server. `Docs/configuration.md` lists them with the
/// names they have in the config file, the environment and the flags.
public struct HTTPConfiguration: Sendable, Equatable {
    /// Address to listen on.
    public var host = "127.0.0.1"
    /// Port to listen on; 0 picks a free one.
    public var port = 8080
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes = 2 * 1024 * 1024

    public init() {}
}
