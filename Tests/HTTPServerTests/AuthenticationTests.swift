import Assembly
@testable import Access
import Foundation
import HTTPServer
import Storage
import Testing
import TestSupport

@Suite("API keys and tenants")
struct AuthenticationTests {
    @Test("no key, a malformed key and an unknown key get 401 with a JSON error")
    func unauthenticated() async throws {
        try await TestServer.with { server in
            for key in [nil, "not-a-key", "arb_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
                let result = try await server.get("/v1/experiments", key: key)
                #expect(result.status == 401)
                #expect(result.error["code"] as? String == "unauthorized")
                #expect(result.error["field"] as? String == "Authorization")
                #expect(result.headers["www-authenticate"] == "Bearer")
            }
            // A valid id with a wrong secret is refused too.
            let wrongSecret = String(server.key.dropLast(4)) + "AAAA"
            #expect(try await server.get("/v1/experiments", key: wrongSecret).status == 401)
            #expect(try await server.get("/v1/experiments", key: server.key).status == 200)
            // Once the secret has been proven (and is compared without hashing), a
            // wrong secret for the same id is still refused.
            #expect(try await server.get("/v1/experiments", key: wrongSecret).status == 401)
            #expect(try await server.get("/v1/experiments", key: server.key + "A").status == 401)
            #expect(try await server.get("/v1/experiments", key: server.key).status == 200)
        }
    }

    @Test("the Authorization header is parsed in place: scheme in any case, exact key shape")
    func headerParsing() {
        let key = APIKey.generate()
        func parse(_ header: String) -> (id: UInt64, secret: String)? {
            var header = header
            return header.withUTF8 { bytes in
                APIKey.parse(authorization: bytes).map { ($0.id, String(decoding: $0.secret, as: UTF8.self)) }
            }
        }
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let parsed = parse("\(scheme) \(key.token)")
            #expect(parsed?.id == APIKey.numericID(key.id))
            #expect(parsed?.secret == key.secret)
        }
        #expect(parse("Basic \(key.token)") == nil)
        #expect(parse("Bearer  \(key.token)") == nil, "two spaces")
        #expect(parse("Bearer \(key.token)A") == nil, "secret too long")
        #expect(parse("Bearer \(key.token.dropLast())") == nil, "secret too short")
        #expect(parse("Bearer \(key.token.dropLast())=") == nil, "not base64url")
        #expect(parse("Bearer arb_0123456789abcdeg_\(key.secret)") == nil, "not hex")
        #expect(parse("Bearer arb_\(key.id.uppercased())_\(key.secret)") == nil || !key.id.contains(where: \.isLetter),
                "the id is lowercase hex, as issued")
        #expect(parse("Bearer xrb_\(key.id)_\(key.secret)") == nil, "wrong prefix")
        #expect(parse("Bearer arb_\(key.id)-\(key.secret)") == nil, "wrong separator")
        #expect(APIKey.numericID("00000000000000ff") == 255)
        #expect(APIKey.numericID("ff") == nil)
        #expect(APIKey.textID(255) == "00000000000000ff")
        #expect(APIKey.textID(APIKey.numericID(key.id)!) == key.id)
    }

    @Test("keys are stored only as hashes")
    func hashedAtRest() async throws {
        try await TestServer.with { server in
            // The secret is base64url, which has "_" in its alphabet: it is
            // everything after the id.
            let secret = String(server.key.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)[2])
            #expect(secret.count == 43)
            let keys = try server.store().apiKeys()
            #expect(keys.count == 2)
            #expect(keys.allSatisfy { !$0.secretHash.contains(secret) && $0.secretHash.count == 64 })
            let database = try Data(contentsOf: URL(fileURLWithPath: server.configuration.databasePath))
            #expect(database.range(of: Data(secret.utf8)) == nil, "the secret does not appear in the database file")
        }
    }

    @Test("a key created elsewhere (arbiter keys) works on its first request")
    func createdElsewhere() async throws {
        try await TestServer.with { server in
            #expect(try await server.get("/v1/experiments", key: server.key).status == 200, "the key cache is fresh now")
            let key = try server.makeKey(tenant: "newcomer")
            #expect(try await server.get("/v1/experiments", key: key).status == 200)
        }
    }

    @Test("a revoked key is refused within a second")
    func revocation() async throws {
        try await TestServer.with { server in
            #expect(try await server.get("/v1/experiments", key: server.key).status == 200)
            let id = String(server.key.split(separator: "_")[1])
            #expect(try server.store().revokeAPIKey(id: id, at: Store.now()))
            // The key ring rereads the keys every second: wait for that.
            let result = try await server.waitForStatus(401) { try await server.get("/v1/experiments", key: server.key) }
            #expect(result.status == 401)
            #expect(result.error["message"] as? String == "the API key was revoked")
        }
    }

    @Test("managing experiments and plugins needs an admin key")
    func adminOnly() async throws {
        try await TestServer.with { server in
            let create = try await server.post("/v1/experiments", #"{"key": "x", "arms": ["a"]}"#, key: server.key)
            #expect(create.status == 403)
            #expect(create.error["code"] as? String == "forbidden")
            #expect(try await server.get("/v1/plugins", key: server.key).status == 403)
            #expect(try await server.get("/v1/plugins", key: server.adminKey).status == 200)
            try await server.createExperiment("x")
            #expect(try await server.send("PATCH", "/v1/experiments/x", json: #"{"add_arms": ["z"]}"#, key: server.key).status == 403)
            #expect(try await server.post("/v1/experiments/x/archive", "", key: server.key).status == 403)
            #expect(try server.store().arms().count == 3, "the refused change wrote nothing")
        }
    }

    @Test("tenant A cannot read, decide on, or send feedback to tenant B's experiments")
    func isolation() async throws {
        try await TestServer.with { server in
            try await server.createExperiment("secret-plan")
            let decision = try await server.post("/v1/experiments/secret-plan/decide", "{}", key: server.key).json
            let decisionID = try #require(decision["decision_id"] as? String)
            let other = try server.makeKey(tenant: "rival", admin: true)

            let read = try await server.get("/v1/experiments/secret-plan", key: other)
            #expect(read.status == 404)
            #expect(read.error["code"] as? String == "not_found")
            #expect(try await server.post("/v1/experiments/secret-plan/decide", "{}", key: other).status == 404)
            #expect(try await server.get("/v1/experiments/secret-plan/strategies/thompson/versions", key: other).status == 404)
            let list = try await server.get("/v1/experiments", key: other).json
            #expect((list["experiments"] as? [Any])?.isEmpty == true)
            let performance = try await server.get("/api/learning/agents/performance", key: other).json
            #expect((performance["agents"] as? [Any])?.isEmpty == true)
            let feedback = try await server.post("/v1/feedback", #"{"events": [{"event_id": "e1", "decision_id": "\#(decisionID)", "reward": 1}]}"#, key: other)
            #expect(feedback.status == 404, "as if the decision did not exist")
            #expect(feedback.error["code"] as? String == "not_found")
            #expect(feedback.error["field"] as? String == "events[0].decision_id")
            let result = try #require((feedback.json["results"] as? [[String: Any]])?.first)
            #expect(result["status"] as? String == "rejected")
            #expect((result["reason"] as? String)?.contains("unknown decision_id") == true)
            #expect(try server.store().eventCount() == 0)
            // The rival can create an experiment with the same key: its own.
            let own = try await server.post("/v1/experiments", #"{"key": "secret-plan", "arms": ["x"]}"#, key: other)
            #expect(own.status == 201)
        }
    }
}

@Suite("arbiter keys: the command line creates, lists and revokes keys")
struct KeysCommandTests {
    /// Runs the built `arbiter` with `arguments`.
    static func arbiter(_ arguments: [String]) throws -> Command.Outcome {
        try Command.outcome(TestPaths.buildDirectory + "/arbiter", arguments)
    }

    @Test("keys create, list and revoke act on a running server's database (--data-dir)")
    func createListRevoke() async throws {
        try await TestServer.with { server in
            let data = ["--data-dir", server.configuration.dataDirectory]

            let plain = try Self.arbiter(["keys", "create", "--tenant", "cli-tenant"] + data)
            #expect(plain.status == 0)
            let key = plain.output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(key.hasPrefix("arb_"), "standard output is the key alone")
            #expect(plain.error.contains("for tenant 'cli-tenant'"))
            let admin = try Self.arbiter(["keys", "create", "--tenant", "cli-tenant", "--admin", "--label", "ops"] + data)
            let adminKey = admin.output.trimmingCharacters(in: .whitespacesAndNewlines)

            #expect(try await server.get("/v1/tenant", key: key).json["name"] as? String == "cli-tenant")
            #expect(try await server.get("/v1/plugins", key: key).status == 403, "a plain key is not an admin key")
            #expect(try await server.get("/v1/plugins", key: adminKey).status == 200)

            let id = String(key.split(separator: "_")[1])
            let listing = try Self.arbiter(["keys", "list"] + data)
            #expect(listing.status == 0)
            let line = try #require(listing.output.split(separator: "\n").first { $0.hasPrefix(id) })
            #expect(line.contains("cli-tenant") && line.contains(" no "))
            #expect(listing.output.contains("(ops)"))
            for token in [key, adminKey] {
                #expect(!listing.output.contains(String(token.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)[2])), "a listing never shows a secret")
            }

            let revoke = try Self.arbiter(["keys", "revoke", id] + data)
            #expect(revoke.status == 0)
            #expect(try await server.waitForStatus(401) { try await server.get("/v1/tenant", key: key) }.status == 401)
            #expect(try await server.get("/v1/tenant", key: adminKey).status == 200, "only the revoked key is refused")
            let again = try Self.arbiter(["keys", "revoke", id] + data)
            #expect(again.status != 0, "a key is revoked once")
            #expect(again.error.contains("no active key with id \(id)"))
        }
    }
}
