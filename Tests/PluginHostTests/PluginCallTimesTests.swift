import PluginHost
import Testing

@Suite("The time of plugin calls")
struct PluginCallTimesTests {
    @Test("each call lands in its bucket, per operation, with the total time")
    func buckets() {
        let times = PluginCallTimes()
        times.record(.select, nanoseconds: 3_000)        // ≤ 10 µs
        times.record(.select, nanoseconds: 10_000)       // ≤ 10 µs (bounds are inclusive)
        times.record(.select, nanoseconds: 70_000)       // ≤ 100 µs
        times.record(.select, nanoseconds: 2_000_000_000) // past the last bound
        times.record(.update, nanoseconds: 600_000)      // ≤ 1 ms
        let select = times.figures(.select)
        #expect(select.buckets == [2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(select.totalNanoseconds == 2_000_083_000)
        #expect(times.figures(.update).buckets[4] == 1 && times.figures(.update).count == 1)
        #expect(times.figures(.create).count == 0)
    }

    @Test("a typical call is the median's bucket: a few slow calls do not move it, most slow calls do")
    func typical() {
        let times = PluginCallTimes()
        #expect(times.typicalNanoseconds(.select) == nil, "no call yet")
        for _ in 0..<90 { times.record(.select, nanoseconds: 2_000) }
        for _ in 0..<10 { times.record(.select, nanoseconds: 40_000_000) }  // a thread preempted mid-call
        #expect(times.typicalNanoseconds(.select) == 10_000)
        for _ in 0..<200 { times.record(.select, nanoseconds: 40_000_000) }  // a plugin that is slow
        #expect(times.typicalNanoseconds(.select) == 50_000_000)
        for _ in 0..<1_000 { times.record(.update, nanoseconds: 5_000_000_000) }
        #expect(times.typicalNanoseconds(.update) == Int.max, "past the last bound")
    }
}
