internal import Engine
internal import Hummingbird
internal import HTTPTypes
internal import NIOCore

extension RouteRegistrar {
    /// The dashboard: one HTML page, its script and its style sheet, all
    /// inside the binary. They hold no data: the page asks the API for it
    /// with the key the person pasted, so they need no key themselves.
    mutating func registerDashboard() {
        add(.get, "/dashboard", .open) { _, _, _ in
            DashboardAsset.response(PackageResources.index_html, type: "text/html; charset=utf-8")
        }
        add(.get, "/dashboard/app.js", .open) { _, _, _ in
            DashboardAsset.response(PackageResources.app_js, type: "text/javascript; charset=utf-8")
        }
        add(.get, "/dashboard/app.css", .open) { _, _, _ in
            DashboardAsset.response(PackageResources.app_css, type: "text/css; charset=utf-8")
        }
    }

    /// An experiment's report drawn as SVG: reward and traffic over time with
    /// the changes, and each arm's mean reward with its interval.
    mutating func registerCharts() {
        let engine = server.engine
        for (path, drawing) in [("report.svg", \ExperimentReport.plot), ("arms.svg", \ExperimentReport.armPlot)] {
            add(.get, "/v1/experiments/{key}/" + path, .tenant) { request, context, caller in
                let control = try URLDecoding.query("control", of: request)
                let report = try await engine.report(tenant: caller.tenant, experiment: try context.path("key"), control: control)
                return DashboardAsset.svg(report[keyPath: drawing])
            }
        }
    }
}

/// How the dashboard's files and charts are answered.
enum DashboardAsset {
    /// Only this origin's script, styles and data; not framed by others; no
    /// referrer: the page needs nothing else.
    static let policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    static func response(_ bytes: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [
            .contentType: type, .cacheControl: "no-cache", .contentSecurityPolicy: policy,
            .xContentTypeOptions: "nosniff", referrerPolicy: "no-referrer",
        ], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func svg(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "image/svg+xml; charset=utf-8", .cacheControl: "no-store", .xContentTypeOptions: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
