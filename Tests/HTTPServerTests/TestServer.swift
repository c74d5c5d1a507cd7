import Access
import Foundation
import FoundationNetworking
import Assembly
import Engine
import HTTPServer
import Logging
import PluginHost
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
/// the first-party plugins, talked to over real HTTP: the host assembled as
/// `arbiter serve` assembles it. Tests get one through `with`, which stops it
/// (gracefully, awaited) and removes its directory before returning.
final class TestServer: @unchecked Sendable {
    let directory: TemporaryDirectory
    let host: ArbiterHost
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let port: Int
    /// An admin key and a plain key of tenant "acme".
    let adminKey: String
    let key: String

    var engine: Engine { host.engine }
    var configuration: HostConfiguration { host.configuration }

    /// Runs `body` with a started server, then stops it and removes its data.
    /// - Parameters:
    ///   - configure: changes the configuration before the start.
    ///   - catalog: the plugins it serves (the first-party ones by default).
    ///   - pluginDirectory: a plugin directory to serve instead, loaded (and
    ///     reloaded) as `arbiter serve` loads it, from content-addressed copies.
    static func with<T>(configure: (inout HostConfiguration) -> Void = { _ in },
                        catalog: PluginCatalog = FirstPartyPlugins.catalog,
                        pluginDirectory: String? = nil,
                        _ body: (TestServer) async throws -> T) async throws -> T {
        var pluginLogger = Logger(label: "arbiter.plugins")
        pluginLogger.logLevel = .warning
        let plugins = pluginDirectory.map { PluginLibrary(directory: $0, logger: pluginLogger) } ?? PluginLibrary(catalog: catalog)
        let server = try await TestServer(configure, plugins: plugins)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    private init(_ configure: (inout HostConfiguration) -> Void, plugins: PluginLibrary) async throws {
        directory = try TemporaryDirectory("arbiter-http")
        var configuration = HostConfiguration()
        configuration.http.port = 0
        configuration.dataDirectory = directory.path
        configuration.engine.batchMaxWait = .milliseconds(1)
        configure(&configuration)
        var logger = Logger(label: "arbiter.test")
        logger.logLevel = .warning
        host = try await ArbiterHost(configuration: configuration, plugins: plugins, logger: logger)
        let store = try Store(path: configuration.databasePath)
        adminKey = try KeyAdministration.create(in: store, tenant: "acme", admin: true, label: nil).0.token
        key = try KeyAdministration.create(in: store, tenant: "acme", admin: false, label: nil).0.token
        let ports = AsyncStream<Int>.makeStream()
        let group = ServiceGroup(configuration: .init(
            services: host.services(onRunning: { port in ports.continuation.yield(port) }), logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var iterator = ports.stream.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    /// Stops the server gracefully (the engine drains and saves) and removes its data.
    private func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
        directory.remove()
    }

    /// Sends `request` until it is answered with `status` (at most 10 s), and
    /// returns the last answer.
    func waitForStatus(_ status: Int, _ request: () async throws -> HTTPResult) async throws -> HTTPResult {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let result = try await request()
            if result.status == status || ContinuousClock.now > deadline { return result }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits until every decision made so far is in the database.
    func flush() async throws {
        try await engine.flush()
    }

    /// A key for another tenant.
    func makeKey(tenant: String, admin: Bool = false) throws -> String {
        let store = try Store(path: configuration.databasePath, migrate: false)
        return try KeyAdministration.create(in: store, tenant: tenant, admin: admin, label: nil).0.token
    }

    /// A direct connection to the database, to check what was (not) written.
    func store() throws -> Store {
        try Store(path: configuration.databasePath, migrate: false)
    }

    /// Sends a request; `key` nil sends no Authorization header.
    /// - Parameter session: a session of its own keeps requests from waiting
    ///   for the shared session's connections to the server.
    func send(_ method: String, _ path: String, json body: String? = nil, key: String?, headers: [String: String] = [:],
              session: URLSession = .shared) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: request)
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

    func post(_ path: String, _ body: String, key: String?, session: URLSession = .shared) async throws -> HTTPResult {
        try await send("POST", path, json: body, key: key, session: session)
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
