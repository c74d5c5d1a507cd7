import Access
import ArgumentParser
import FoundationEssentials
import Storage

/// `arbiter keys`: API keys, stored only as hashes.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key (creating the tenant if needed); the key is printed once.")

        @OptionGroup var data: DataOptions
        @Option(help: "The tenant the key acts for.")
        var tenant: String
        @Flag(help: "Allow managing experiments and plugins.")
        var admin = false
        @Option(help: "A note for listings.")
        var label: String?

        func run() throws {
            guard !tenant.isEmpty, tenant.utf8.count <= 200, !tenant.contains(where: \.isNewline) else {
                throw ValidationError("--tenant must be 1 to 200 bytes on one line")
            }
            let store = try Store(path: try data.databasePath(), durability: data.durability)
            let (key, tenantRecord) = try KeyAdministration.create(in: store, tenant: tenant, admin: admin, label: label)
            print(key.token)
            fflush(nil)  // the key before the note, also when both go to one file or pipe
            FileHandleStandardError.write("created \(admin ? "admin " : "")key \(key.id) for tenant '\(tenantRecord.name)'; it is shown only now\n")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (ids, never secrets).")

        @OptionGroup var data: DataOptions

        func run() throws {
            let store = try Store(path: try data.databasePath(), durability: data.durability)
            let tenants = Dictionary(uniqueKeysWithValues: try store.tenants().map { ($0.id, $0.name) })
            func padded(_ text: String, _ width: Int) -> String {
                text + String(repeating: " ", count: max(0, width - text.count))
            }
            func time(_ milliseconds: Int64) -> String {
                Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
            }
            print("\(padded("id", 16))  \(padded("tenant", 16))  admin  \(padded("created", 20))  revoked")
            for key in try store.apiKeys() {
                let revoked = key.revokedAt.map(time) ?? "-"
                print("\(key.id)  \(padded(tenants[key.tenantID] ?? "?", 16))  \(key.admin ? "yes  " : "no   ")  \(time(key.createdAt))  "
                      + (key.label.map { "\(padded(revoked, 20))  (\($0))" } ?? revoked))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id; a running server refuses it within a second.")

        @OptionGroup var data: DataOptions
        @Argument(help: "The key id (the 16 hex characters after arb_).")
        var id: String

        func run() throws {
            let store = try Store(path: try data.databasePath(), durability: data.durability)
            guard try store.revokeAPIKey(id: id, at: Store.now()) else {
                throw CommandFailure("no active key with id \(id)")
            }
            print("revoked \(id)")
        }
    }
}

/// Writes to standard error.
enum FileHandleStandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
