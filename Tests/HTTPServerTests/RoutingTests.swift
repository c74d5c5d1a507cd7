import Foundation
@testable import HTTPServer
import Hummingbird
import Testing

@Suite("Finding a request's route")
struct RoutingTests {
    /// A table whose handlers are the names of their routes.
    private func table(_ routes: [(HTTPRequest.Method, String)]) -> RouteTable<String> {
        let builder = RouteTable<String>.Builder()
        for (method, pattern) in routes { builder.add(method, pattern, "\(method.rawValue) \(pattern)") }
        return builder.build()
    }

    private func found(_ match: RouteTable<String>.Match) -> (String, PathParameters)? {
        if case let .route(name, parameters) = match { return (name, parameters) }
        return nil
    }

    private let api: [(HTTPRequest.Method, String)] = [
        (.get, "/healthz"),
        (.get, "/v1/experiments"),
        (.post, "/v1/experiments"),
        (.get, "/v1/experiments/{key}"),
        (.patch, "/v1/experiments/{key}"),
        (.post, "/v1/experiments/{key}/decide"),
        (.get, "/v1/experiments/{key}/strategies/{strategy}/versions"),
        (.post, "/v1/feedback"),
    ]

    @Test("constant paths, parameters and their values")
    func parameters() throws {
        let routes = table(api)
        #expect(found(routes.match(.get, path: "/healthz"))?.0 == "GET /healthz")
        #expect(found(routes.match(.post, path: "/v1/feedback"))?.0 == "POST /v1/feedback")
        let decide = try #require(found(routes.match(.post, path: "/v1/experiments/route-42/decide")))
        #expect(decide.0 == "POST /v1/experiments/{key}/decide")
        #expect(decide.1.value("key") == "route-42")
        #expect(decide.1.value("strategy") == nil)
        let versions = try #require(found(routes.match(.get, path: "/v1/experiments/e/strategies/dts/versions")))
        #expect(versions.1.value("key") == "e")
        #expect(versions.1.value("strategy") == "dts")
        #expect(found(routes.match(.get, path: "/v1/experiments/e"))?.0 == "GET /v1/experiments/{key}")
        // A query is not part of the path.
        let withQuery = try #require(found(routes.match(.post, path: "/v1/experiments/k/decide?x=/y&z")))
        #expect(withQuery.1.value("key") == "k")
        #expect(found(routes.match(.get, path: "/healthz?probe=1"))?.0 == "GET /healthz")
    }

    @Test("empty components are skipped: repeated and trailing slashes")
    func slashes() {
        let routes = table(api)
        #expect(found(routes.match(.get, path: "/healthz/"))?.0 == "GET /healthz")
        #expect(found(routes.match(.post, path: "//v1//experiments/k/decide"))?.1.value("key") == "k")
    }

    @Test("unknown paths are not found; a known path with another method lists its methods")
    func misses() {
        let routes = table(api)
        for path in ["/", "/v2/feedback", "/v1/experiments/k/decide/more", "/v1/experiments/k/strategies", "/healthzz", "/health"] {
            guard case .notFound = routes.match(.get, path: path) else {
                Issue.record("\(path) should not be found")
                continue
            }
        }
        guard case let .methodNotAllowed(methods) = routes.match(.delete, path: "/v1/experiments/k") else {
            Issue.record("DELETE on an experiment should be refused with its methods")
            return
        }
        #expect(Set(methods.map(\.rawValue)) == ["GET", "PATCH"])
    }

    @Test("a constant that leads nowhere falls back to the parameter beside it")
    func backtracking() {
        let routes = table([(.get, "/a/fixed/x"), (.get, "/a/{name}/y")])
        #expect(found(routes.match(.get, path: "/a/fixed/x"))?.0 == "GET /a/fixed/x")
        let fallback = found(routes.match(.get, path: "/a/fixed/y"))
        #expect(fallback?.0 == "GET /a/{name}/y")
        #expect(fallback?.1.value("name") == "fixed")
        // A failed branch leaves no parameter value behind.
        let twoLevels = table([(.get, "/{a}/{b}/end"), (.get, "/{a}/k")])
        let short = found(twoLevels.match(.get, path: "/one/k"))
        #expect(short?.0 == "GET /{a}/k")
        #expect(short?.1.value("a") == "one")
        #expect(short?.1.value("b") == nil)
    }

    @Test("HEAD is answered by the GET route")
    func head() {
        let routes = table(api)
        #expect(found(routes.match(.head, path: "/healthz"))?.0 == "GET /healthz")
        guard case .methodNotAllowed = routes.match(.head, path: "/v1/feedback") else {
            Issue.record("HEAD on a POST-only path should be refused")
            return
        }
    }

    @Test("over HTTP: 404 and 405 with a JSON error, HEAD without a body")
    func overHTTP() async throws {
        try await TestServer.with { server in
            let missing = try await server.get("/v1/nothing-here", key: nil)
            #expect(missing.status == 404)
            #expect(missing.text.contains(#""code":"not_found""#))
            let wrongMethod = try await server.send("DELETE", "/v1/feedback", key: nil)
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["allow"] == "POST")
            #expect(wrongMethod.text.contains(#""code":"method_not_allowed""#))
            let head = try await server.send("HEAD", "/healthz", key: nil)
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
        }
    }

    @Test("percent-decoding: %XX in paths and queries, + as a space in queries only; bad encodings refused")
    func decoding() {
        #expect(URLDecoding.decode("plain") == "plain")
        #expect(URLDecoding.decode("my%20exp%2F1") == "my exp/1")
        #expect(URLDecoding.decode("caf%C3%A9%2b") == "café+")
        #expect(URLDecoding.decode("a+b") == "a+b")
        #expect(URLDecoding.decode("a+b%2B", plusIsSpace: true) == "a b+")
        #expect(URLDecoding.decode("%zz") == nil)
        #expect(URLDecoding.decode("50%") == nil)
        #expect(URLDecoding.decode("%4") == nil)
        #expect(URLDecoding.decode("%FF") == nil, "not UTF-8")
    }

    @Test("over HTTP: an experiment whose key holds a space and a slash is reached by its encoded key")
    func encodedKeys() async throws {
        try await TestServer.with { server in
            let created = try await server.post("/v1/experiments", #"{"key": "code review/β", "arms": ["a", "b"]}"#, key: server.adminKey)
            #expect(created.status == 201)
            let read = try await server.get("/v1/experiments/code%20review%2F%CE%B2", key: server.key)
            #expect(read.status == 200)
            #expect(read.json["key"] as? String == "code review/β")
            #expect(try await server.post("/v1/experiments/code%20review%2F%CE%B2/decide", "{}", key: server.key).status == 200)
            // The seed's clients send query values form-encoded: a space as '+'.
            let performance = try await server.get("/api/learning/agents/performance?task_type=code+review%2F%CE%B2", key: server.key)
            #expect(performance.status == 200)
            #expect((performance.json["agents"] as? [[String: Any]])?.map { $0["task_type"] as? String } == ["code review/β", "code review/β"])

            let badPath = try await server.get("/v1/experiments/code%FF", key: server.key)
            #expect(badPath.status == 400)
            #expect(badPath.error["field"] as? String == "key")
            let badQuery = try await server.get("/api/learning/agents/performance?task_type=%FF", key: server.key)
            #expect(badQuery.status == 400)
            #expect(badQuery.error["field"] as? String == "task_type")
        }
    }
}
