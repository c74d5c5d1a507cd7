#if canImport(Glibc)
internal import Glibc
#endif

/// Keeps a long computation to a share of one core: the work calls `tick()`
/// often (once per decision), and every few thousand ticks, once it has been
/// busy for more than 10 ms, it sleeps long enough that busy time stays at
/// `share` of the wall time. Beside the decision path this matters more than
/// a low scheduling priority: on a machine whose cores are hyperthreads of
/// one another, any work on one slows the other.
public final class CPUShare {
    let share: Double
    private var busySince = ContinuousClock.now
    private var ticks = 0

    /// - Parameter share: the most of one core the work may take, in (0, 1].
    public init(share: Double) {
        self.share = min(max(share, 0.01), 1)
    }

    @inline(__always)
    public func tick() {
        ticks &+= 1
        if ticks & 4095 == 0 { pace() }
    }

    private func pace() {
        guard share < 1 else { return }
        let busy = ContinuousClock.now - busySince
        guard busy > .milliseconds(10) else { return }
        let nanoseconds = Double(busy.components.seconds) * 1e9 + Double(busy.components.attoseconds) / 1e9
        let pause = nanoseconds * (1 / share - 1)
        var request = timespec(tv_sec: Int(pause / 1e9), tv_nsec: Int(pause.truncatingRemainder(dividingBy: 1e9)))
        _ = nanosleep(&request, nil)
        busySince = ContinuousClock.now
    }
}
