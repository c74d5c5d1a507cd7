/// Finds the best of the eligible arms by score in one pass, breaking exact
/// ties at random with the decision's generator (never by index), and counts
/// how many arms shared the best score so that the propensity can be exact.
public struct ArgMax {
    /// Position in the eligible list of the best arm so far.
    public var position = 0
    /// How many of the scores offered so far equal the best one.
    public var ties = 0
    /// The best score so far.
    public var best = -Double.infinity

    public init() {}

    /// Offers the score of the arm at `position`. Among tied arms each is kept
    /// with equal probability (reservoir sampling), so no allocation is needed.
    @inlinable
    public mutating func offer(_ score: Double, at position: Int, rng: inout Xoshiro256) {
        if score > best || ties == 0 {
            best = score
            self.position = position
            ties = 1
        } else if score == best {
            ties += 1
            if rng.nextIndex(below: ties) == 0 {
                self.position = position
            }
        }
    }
}
