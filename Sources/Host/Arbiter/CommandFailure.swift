/// A command that could not do its work for a reason found while running
/// (no database, no such experiment, a file that cannot be written, the
/// server's refusal): printed as `Error: ...` and exit status 1. Arguments
/// that are wrong in themselves stay `ValidationError`s, which also print the
/// usage and exit with 64.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
