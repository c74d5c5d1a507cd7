import Assembly
import Foundation
import HTTPServer
import Storage
import Testing
import TestSupport

/// The paths and methods an OpenAPI document declares (a minimal reader of
/// the `paths:` section, enough for the document we write).
func openAPIRoutes(_ yaml: String) -> Set<String> {
    var routes = Set<String>()
    var inPaths = false
    var path: String?
    for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("paths:") { inPaths = true; continue }
        if inPaths, let first = line.first, !first.isWhitespace { break }
        guard inPaths else { continue }
        if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
            path = String(line.dropFirst(2).dropLast())
        } else if let path, line.hasPrefix("    "), !line.hasPrefix("     ") {
            let method = line.trimmingCharacters(in: .whitespaces).dropLast()
            if ["get", "post", "put", "patch", "delete"].contains(String(method)), line.hasSuffix(":") {
                routes.insert("\(method) \(path)")
            }
        }
    }
    return routes
}

@Suite("The OpenAPI document describes exactly the routes the server registers")
struct ContractTests {
    @Test("every registered route is documented, and every documented route is registered")
    func routesMatch() async throws {
        try await TestServer.with { server in
            let document = try String(contentsOfFile: TestPaths.file("Docs/openapi.yaml"), encoding: .utf8)
            let documented = openAPIRoutes(document)
            let registered = Set(server.host.server.routes.map(\.description))
            #expect(registered.count >= 22)
            #expect(registered.subtracting(documented).isEmpty, "undocumented: \(registered.subtracting(documented).sorted())")
            #expect(documented.subtracting(registered).isEmpty, "documented but not served: \(documented.subtracting(registered).sorted())")
        }
    }

    @Test("the served document is the one in Docs/, and it is valid OpenAPI 3.1")
    func servedDocument() async throws {
        try await TestServer.with { server in
            let served = try await server.get("/openapi.yaml", key: nil)
            #expect(served.status == 200)
            #expect(served.headers["content-type"]?.hasPrefix("application/yaml") == true)
            let document = try Data(contentsOf: URL(fileURLWithPath: TestPaths.file("Docs/openapi.yaml")))
            #expect(served.body == document)
            #expect(served.text.hasPrefix("openapi: 3.1.0"))
            let output = try Command.run(TestPaths.python, ["-m", "openapi_spec_validator", TestPaths.file("Docs/openapi.yaml")])
            #expect(output.contains("OK"))
        }
    }

    @Test("schemathesis with every check, its stateful phase included: valid requests accepted, invalid ones refused, every answer as documented, no 500")
    func fuzzed() async throws {
        try await TestServer.with { server in
            // The experiment Tests/Contract/schemathesis.toml names for the evaluation.
            try await server.createExperiment("contract-evaluate")
            let run = try await Command.outcome(TestPaths.file("scripts/contract"), [
                "http://127.0.0.1:\(server.port)", server.adminKey, "--seed", "1", "--max-examples", "40",
            ])
            #expect(run.status == 0, "\(run.output.suffix(6_000))")
            // No failure of any check. A warning that an operation met only
            // 404s with the data generated (a rollback to a version that does
            // not exist) is about the fuzzer's reach, not the contract.
            #expect(!run.output.contains("FAILURES"), "\(run.output.suffix(6_000))")
            let warnings = run.output.split(separator: "\n").filter { $0.contains("⚠️") }
            #expect(warnings.allSatisfy { $0.contains("Missing test data") }, "\(warnings)")
            #expect(run.output.contains("No issues found") || !warnings.isEmpty, "\(run.output.suffix(6_000))")
            #expect(run.output.contains("Stateful"), "the stateful phase ran")
        }
    }
}
