import Assembly
import Foundation
import HTTPServer
import Testing
import TestSupport

/// Clients that do not behave like curl (Python's urllib and requests write
/// their whole body before they read; a raw socket can trickle a request or
/// stay silent), driven by `Clients/clients.py` against a real server.
@Suite("Every client gets its answer: oversized bodies, slow and idle clients, many connections")
struct ClientBehaviourTests {
    /// Runs a scenario of `clients.py` and returns the JSON it printed.
    static func scenario(_ arguments: [String]) async throws -> Any {
        let run = try await Command.outcome(TestPaths.python, [TestPaths.file("Tests/HTTPServerTests/Clients/clients.py")] + arguments)
        guard run.status == 0, let data = run.output.data(using: .utf8) else {
            throw TestServer.Failure(message: "clients.py \(arguments.first ?? "") exited \(run.status): \(run.output) \(run.error)")
        }
        return try JSONSerialization.jsonObject(with: data)
    }

    @Test("a client that writes a whole 8 MiB body before it reads gets its answer on every route that takes a body, with Connection: close (then closed) and without (then reused)")
    func oversizedBodies() async throws {
        try await TestServer.with { server in
            try await server.createExperiment("route", arms: ["a", "b"])
            let url = "http://127.0.0.1:\(server.port)"
            let routes = server.host.server.routes.filter { ["post", "put", "patch"].contains($0.method) }
            #expect(routes.count >= 9)
            let described = routes.map { route in
                ["method": route.method.uppercased(),
                 "path": route.path.replacingOccurrences(of: "{key}", with: "route").replacingOccurrences(of: "{strategy}", with: "thompson")]
            }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: described), as: UTF8.self)
            let results = try #require(try await Self.scenario(["oversized", url, server.adminKey, json]) as? [[String: Any]])
            #expect(results.count == routes.count * 2)
            for result in results {
                let route = result["route"] as? String ?? "?"
                #expect(result["error"] == nil, "\(route): \(result)")
                if route.hasSuffix("/archive") {
                    // Takes no body: answered as usual, the body read and discarded.
                    #expect(result["status"] as? Int == 200, "\(route): \(result)")
                } else {
                    #expect(result["status"] as? Int == 413, "\(route): \(result)")
                    #expect(result["code"] as? String == "body_too_large", "\(route): \(result)")
                }
                if result["connection"] as? String == "close" {
                    #expect(result["connection_header"] as? String == "close", "\(route): \(result)")
                    #expect(result["closed"] as? Bool == true, "\(route): \(result)")
                } else {
                    #expect(result["next_status"] as? Int == 200, "the connection serves the next request: \(route): \(result)")
                }
            }
        }
    }

    @Test("Python's urllib and requests posting 8 MiB get the 413, not a timeout")
    func libraries() async throws {
        try await TestServer.with { server in
            let result = try #require(try await Self.scenario(["libraries", "http://127.0.0.1:\(server.port)", server.key]) as? [String: Any])
            #expect(result["urllib"] as? Int == 413, "\(result)")
            #expect(result["urllib_code"] as? String == "body_too_large")
            #expect(result["requests"] as? Int == 413, "\(result)")
            #expect(result["requests_code"] as? String == "body_too_large")
        }
    }

    @Test("a request head trickled a byte at a time is cut off with 408 after the header timeout")
    func slowHead() async throws {
        try await TestServer.with(configure: { $0.http.headerTimeout = .seconds(1) }) { server in
            let result = try #require(try await Self.scenario(["slow-head", "http://127.0.0.1:\(server.port)"]) as? [String: Any])
            #expect(result["status"] as? Int == 408, "\(result)")
            #expect(result["closed"] as? Bool == true, "\(result)")
            let sent = try #require(result["sent"] as? Int), total = try #require(result["total"] as? Int)
            #expect(sent < total, "cut off before the client finished the head (\(sent) of \(total) bytes)")
        }
    }

    @Test("a keep-alive connection with no request in progress is closed after the idle timeout")
    func idleConnection() async throws {
        try await TestServer.with(configure: { $0.http.idleTimeout = .seconds(1) }) { server in
            let result = try #require(try await Self.scenario(["idle", "http://127.0.0.1:\(server.port)"]) as? [String: Any])
            #expect(result["status"] as? Int == 200, "\(result)")
            #expect(result["closed"] as? Bool == true, "closed by the server, not left open: \(result)")
        }
    }

    @Test("2,000 idle connections do not stop the server from answering another client; the limit holds")
    func connectionLimit() async throws {
        try await TestServer.with(configure: { $0.http.maxConnections = 100 }) { server in
            let result = try #require(try await Self.scenario(["flood", "http://127.0.0.1:\(server.port)", "2000"]) as? [String: Any])
            #expect(result["status"] as? Int == 200, "\(result)")
            let metrics = try #require(result["metrics"] as? [String: Double])
            #expect(try #require(metrics["arbiter_http_connections"]) <= 100, "\(result)")
            #expect(try #require(metrics["arbiter_http_connections_evicted_total"]) >= 1_900, "idle connections made room: \(result)")
            #expect(try #require(result["flood_closed_by_server"] as? Int) >= 1_900, "\(result)")
        }
    }
}
