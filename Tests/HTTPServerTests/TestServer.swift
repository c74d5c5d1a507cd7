import Access
import Foundation
import FoundationNetworking
import HTTPServer
import Logging
import ServiceLifecycle
import Storage
import TestSupport

/// An HTTP response as the tests read it.
struct HTTPResult: Sendable {
    let status: Int
    let headers: [String: String]
    let body: Data

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The `error` object of an error answer.
    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
}

/// A real Arbiter server on a free loopback port, on a fresh database, with
/// the first-party plugins, talked to over real HTTP.
final class TestServer: @unchecked Sendable {
    let directory: TemporaryDirectory
    let server: ArbiterServer
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let port: Int
    /// An admin key and a plain key of tenant "acme".
    let adminKey: String
    let key: String

    static func start(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        try await TestServer(adjust)
    }

    private init(_ adjust: (inout ServerConfiguration) -> Void) async throws {
        directory = try TemporaryDirectory("arbiter-http")
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.dataDirectory = directory.path
        configuration.batchMaxWaitMilliseconds = 1
        adjust(&configuration)
        var logger = Logger(label: "arbiter.test")
        logger.logLevel = .warning
        server = try ArbiterServer(configuration: configuration, catalog: FirstPartyPlugins.catalog, logger: logger)
        let store = try Store(path: configuration.databasePath)
        adminKey = try KeyAdministration.create(in: store, tenant: "acme", admin: true, label: nil).0.token
        key = try KeyAdministration.create(in: store, tenant: "acme", admin: false, label: nil).0.token
        let application = server.makeApplication()
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var waited = 0
        while server.port == 0, waited < 1_000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        port = server.port
    }

    /// Stops the server gracefully (the engine drains and saves).
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
        directory.remove()
    }

    /// A key for another tenant.
    func makeKey(tenant: String, admin: Bool = false) throws -> String {
        let store = try Store(path: server.configuration.databasePath, migrate: false)
        return try KeyAdministration.create(in: store, tenant: tenant, admin: admin, label: nil).0.token
    }

    /// A direct connection to the database, to check what was (not) written.
    func store() throws -> Store {
        try Store(path: server.configuration.databasePath, migrate: false)
    }

    /// Sends a request; `key` nil sends no Authorization header.
    func send(_ method: String, _ path: String, json body: String? = nil, key: String?, headers: [String: String] = [:]) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            headers[String(describing: name).lowercased()] = String(describing: value)
        }
        return HTTPResult(status: http.statusCode, headers: headers, body: data)
    }

    func get(_ path: String, key: String?) async throws -> HTTPResult {
        try await send("GET", path, key: key)
    }

    func post(_ path: String, _ body: String, key: String?) async throws -> HTTPResult {
        try await send("POST", path, json: body, key: key)
    }

    /// Creates an experiment with the admin key; fails the test if refused.
    @discardableResult
    func createExperiment(_ key: String = "summarize", arms: [String] = ["a", "b", "c"], strategy: String = "thompson") async throws -> HTTPResult {
        let arms = arms.map { "\"\($0)\"" }.joined(separator: ",")
        let result = try await post("/v1/experiments", #"{"key": "\#(key)", "arms": [\#(arms)], "strategy": "\#(strategy)"}"#, key: adminKey)
        guard result.status == 201 else { throw Failure(message: "create failed: \(result.status) \(result.text)") }
        return result
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
