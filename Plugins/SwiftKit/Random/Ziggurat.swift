#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif

/// One layer of the 128-layer ziggurat for the standard normal (Marsaglia
/// and Tsang, 2000).
@usableFromInline
struct ZigguratLayer {
    /// Acceptance threshold on the 32-bit magnitude.
    @usableFromInline var k: UInt32 = 0
    /// Width scale: value = draw * w.
    @usableFromInline var w: Double = 0
    /// Density at the layer's edge.
    @usableFromInline var f: Double = 0
}

/// The ziggurat tables, computed once and immutable afterwards (so sharing
/// them between threads is safe), kept behind a pointer so a draw reads them
/// without reference counting.
@usableFromInline
enum Ziggurat {
    @usableFromInline static let tail = 3.442619855899

    @usableFromInline nonisolated(unsafe) static let layers: UnsafePointer<ZigguratLayer> = {
        let m1 = 2147483648.0
        var dn = tail
        var tn = dn
        let vn = 9.91256303526217e-3
        let layers = UnsafeMutablePointer<ZigguratLayer>.allocate(capacity: 128)
        layers.initialize(repeating: ZigguratLayer(), count: 128)
        let q = vn / exp(-0.5 * dn * dn)
        layers[0] = ZigguratLayer(k: UInt32(dn / q * m1), w: q / m1, f: 1)
        layers[127].w = dn / m1
        layers[127].f = exp(-0.5 * dn * dn)
        for i in stride(from: 126, through: 1, by: -1) {
            dn = (-2 * log(vn / dn + exp(-0.5 * dn * dn))).squareRoot()
            layers[i + 1].k = UInt32(dn / tn * m1)
            tn = dn
            layers[i].f = exp(-0.5 * dn * dn)
            layers[i].w = dn / m1
        }
        return UnsafePointer(layers)
    }()
}

extension Xoshiro256 {
    /// A standard normal draw by the ziggurat method: one 64-bit draw and a
    /// table look-up in about 99% of calls. The layer index and the value come
    /// from disjoint bits of the draw (avoiding the correlation Doornik found in
    /// the original 32-bit version).
    @inlinable
    public mutating func nextNormal() -> Double {
        let layers = Ziggurat.layers
        while true {
            let bits = next()
            let layer = Int(bits & 127)
            let value = Int32(truncatingIfNeeded: bits >> 32)
            let x = Double(value) * layers[layer].w
            if value.magnitude < layers[layer].k {
                return x
            }
            if layer == 0 {
                // The tail beyond the base layer (Marsaglia's method).
                var tailX: Double
                var tailY: Double
                repeat {
                    tailX = -log(nextOpenUnit()) / Ziggurat.tail
                    tailY = -log(nextOpenUnit())
                } while tailY + tailY < tailX * tailX
                return value > 0 ? Ziggurat.tail + tailX : -Ziggurat.tail - tailX
            }
            if layers[layer].f + nextUnit() * (layers[layer - 1].f - layers[layer].f) < exp(-0.5 * x * x) {
                return x
            }
        }
    }
}
