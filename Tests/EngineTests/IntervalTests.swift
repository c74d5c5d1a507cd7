import Testing
import Engine

@Suite("The report's intervals of a mean reward")
struct IntervalTests {
    @Test("Wilson's interval of 8 in 10 is the textbook one, [0.4902, 0.9433]")
    func wilsonTextbook() {
        let interval = Interval.of(mean: 0.8, squares: 8, weight: 10, bounded: true)
        #expect(interval.method == .wilson)
        #expect(abs(interval.lower - 0.4902) < 0.00005)
        #expect(abs(interval.upper - 0.9433) < 0.00005)
    }

    @Test("all successes reach exactly 1, all failures exactly 0", arguments: [1.0, 3, 200, 10_000])
    func wilsonEnds(count: Double) {
        let allOnes = Interval.of(mean: 1, squares: count, weight: count, bounded: true)
        #expect(allOnes.upper == 1)
        #expect(allOnes.lower < 1)
        let allZeros = Interval.of(mean: 0, squares: 0, weight: count, bounded: true)
        #expect(allZeros.lower == 0)
        #expect(allZeros.upper > 0)
    }

    @Test("unbounded rewards: the mean plus or minus 1.96 standard errors")
    func normal() {
        // Rewards 2, 4, 6, 8: mean 5, population variance 5, standard error sqrt(5 / 4).
        let interval = Interval.of(mean: 5, squares: 120, weight: 4, bounded: false)
        #expect(interval.method == .normal)
        let half = 1.959964 * (5.0 / 4).squareRoot()
        #expect(abs(interval.lower - (5 - half)) < 1e-12)
        #expect(abs(interval.upper - (5 + half)) < 1e-12)
    }
}
