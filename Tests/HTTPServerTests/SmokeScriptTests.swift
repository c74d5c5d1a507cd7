import Foundation
import Testing
import TestSupport

@Suite("scripts/smoke against a running server")
struct SmokeScriptTests {
    @Test("every endpoint passes, and a failure makes the script fail")
    func smoke() async throws {
        // On a plugin directory, as `arbiter serve` runs, so that a reload is possible.
        try await TestServer.with(pluginDirectory: TestPaths.buildDirectory) { server in
            let script = TestPaths.file("scripts/smoke")
            let output = try Command.run("/usr/bin/env", ["python3", script, "http://127.0.0.1:\(server.port)", server.adminKey])
            #expect(output.contains("28 passed, 0 failed"), "\(output)")
            #expect(!output.contains("FAIL"))
            // With a key that cannot manage experiments, the admin steps fail and so does the script.
            #expect(throws: Command.Failure.self) {
                try Command.run("/usr/bin/env", ["python3", script, "http://127.0.0.1:\(server.port)", server.key])
            }
        }
    }
}
