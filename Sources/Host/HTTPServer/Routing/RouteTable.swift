internal import HTTPTypes

/// The API's routes as a tree of path components, and the lookup of a
/// request's method and path in it.
///
/// Built once at start and read-only afterwards. A lookup walks the request
/// path's bytes in place, comparing each component with a node's constant
/// components before trying its parameter, and backtracking if a constant
/// leads nowhere; empty components (`//`, a trailing `/`) are skipped. Path
/// parameters are byte ranges of the request path, so a lookup allocates
/// nothing.
struct RouteTable<Handler: Sendable>: Sendable {
    /// What a lookup found.
    enum Match {
        /// The route's handler and the values of its path parameters.
        case route(Handler, PathParameters)
        /// The path exists, but not for this method: these are its methods.
        case methodNotAllowed([HTTPRequest.Method])
        case notFound
    }

    private final class Node: Sendable {
        let constants: [(component: [UInt8], node: Node)]
        let parameter: (name: String, node: Node)?
        let methods: [(method: HTTPRequest.Method, handler: Handler)]
        /// The names of the path parameters on the way here, in order.
        let parameterNames: [String]

        init(_ builder: Builder.Node, parameterNames: [String]) {
            constants = builder.constants.map { (Array($0.component.utf8), Node($0.node, parameterNames: parameterNames)) }
            parameter = builder.parameter.map { ($0.name, Node($0.node, parameterNames: parameterNames + [$0.name])) }
            methods = builder.methods
            self.parameterNames = parameterNames
        }
    }

    /// Collects routes, then makes the table.
    struct Builder {
        fileprivate final class Node {
            var constants: [(component: Substring, node: Node)] = []
            var parameter: (name: String, node: Node)?
            var methods: [(method: HTTPRequest.Method, handler: Handler)] = []
        }

        fileprivate let root = Node()

        /// Adds a route. `pattern` is written in OpenAPI form, parameters in
        /// braces: `/v1/experiments/{key}/decide`.
        func add(_ method: HTTPRequest.Method, _ pattern: String, _ handler: Handler) {
            var node = root
            var names: [String] = []
            for component in pattern.split(separator: "/") {
                if component.hasPrefix("{"), component.hasSuffix("}") {
                    let name = String(component.dropFirst().dropLast())
                    if let (existing, child) = node.parameter {
                        precondition(existing == name, "\(pattern): parameter {\(name)} where another route has {\(existing)}")
                        node = child
                    } else {
                        let child = Node()
                        node.parameter = (name, child)
                        node = child
                    }
                    names.append(name)
                } else if let child = node.constants.first(where: { $0.component == component })?.node {
                    node = child
                } else {
                    let child = Node()
                    node.constants.append((component, child))
                    node = child
                }
            }
            precondition(names.count <= PathParameters.capacity, "\(pattern): more than \(PathParameters.capacity) parameters")
            precondition(!node.methods.contains { $0.method == method }, "\(method) \(pattern) registered twice")
            node.methods.append((method, handler))
        }

        func build() -> RouteTable {
            RouteTable(root: RouteTable.Node(root, parameterNames: []))
        }
    }

    private let root: Node

    private init(root: Node) {
        self.root = root
    }

    /// The route for `method` on `path`, a request target: the path and
    /// perhaps a query, which is ignored.
    func match(_ method: HTTPRequest.Method, path: String) -> Match {
        var contiguous = path
        return contiguous.withUTF8 { target in
            let bytes = UnsafeBufferPointer(rebasing: target[..<(target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex)])
            var parameters = PathParameters(path: path)
            guard let node = Self.resolve(bytes, from: 0, at: root, parameters: &parameters) else { return .notFound }
            // HEAD is answered by the GET route where there is no HEAD route.
            if let route = node.methods.first(where: { $0.method == method })
                ?? (method == .head ? node.methods.first(where: { $0.method == .get }) : nil) {
                parameters.names = node.parameterNames
                return .route(route.handler, parameters)
            }
            return node.methods.isEmpty ? .notFound : .methodNotAllowed(node.methods.map(\.method))
        }
    }

    /// The node that the rest of `path` from `start` leads to from `node`.
    private static func resolve(_ path: UnsafeBufferPointer<UInt8>, from start: Int, at node: Node,
                                parameters: inout PathParameters) -> Node? {
        var start = start
        while start < path.count, path[start] == UInt8(ascii: "/") { start += 1 }
        guard start < path.count else { return node }
        var end = start
        while end < path.count, path[end] != UInt8(ascii: "/") { end += 1 }
        let component = UnsafeBufferPointer(rebasing: path[start..<end])
        for constant in node.constants where constant.component.elementsEqual(component) {
            if let found = resolve(path, from: end, at: constant.node, parameters: &parameters) { return found }
        }
        if let (_, child) = node.parameter {
            let depth = parameters.count
            parameters.append(start..<end)
            if let found = resolve(path, from: end, at: child, parameters: &parameters) { return found }
            parameters.removeLast(parameters.count - depth)
        }
        return nil
    }
}

/// The path parameters of a matched route: the names are the route's own
/// (shared, not copied per request), the values byte ranges of the request
/// path, made into strings only when asked for.
struct PathParameters: Sendable {
    /// The most parameters a route may have.
    static var capacity: Int { Ranges.count }
    private typealias Ranges = InlineArray<4, Range<Int>>

    private let path: String
    fileprivate(set) var names: [String] = []
    private var ranges = Ranges(repeating: 0..<0)
    fileprivate private(set) var count = 0

    init(path: String = "") {
        self.path = path
    }

    /// The value of the parameter `name`, or nil when the route has none of that name.
    func value(_ name: String) -> Substring? {
        guard let index = names.firstIndex(of: name), index < count else { return nil }
        let utf8 = path.utf8
        let range = ranges[index]
        return Substring(utf8[utf8.index(utf8.startIndex, offsetBy: range.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: range.upperBound)])
    }

    fileprivate mutating func append(_ range: Range<Int>) {
        ranges[count] = range
        count += 1
    }

    fileprivate mutating func removeLast(_ k: Int) {
        count -= k
    }
}
