import PluginHost
import Testing

@Suite("Semantic versions")
struct SemanticVersionTests {
    @Test func ordering() throws {
        let versions = ["1.10.0", "1.2.0", "1.2.0-beta", "0.9.9", "2.0.0+build.7"].compactMap(SemanticVersion.init)
        #expect(versions.count == 5)
        #expect(versions.sorted().map(\.description) == ["0.9.9", "1.2.0-beta", "1.2.0", "1.10.0", "2.0.0"])
    }

    @Test func malformed() {
        for text in ["1.2", "1.2.x", "", "v1.0.0", "1.-2.0"] {
            #expect(SemanticVersion(text) == nil, "\(text) is not a version")
        }
    }
}
