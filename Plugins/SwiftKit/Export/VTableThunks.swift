internal import ArbiterABI

// The C functions of the vtable. Each one unpacks its handles, validates what
// the host sent, calls the strategy and turns failures into status + message.

/// Most arms an instance may have; keeps a bad request from allocating wildly.
let maximumArmCount = 1_000_000

typealias ErrorOut = UnsafeMutablePointer<arbiter_error>?

let describeThunk: @convention(c) (
    UnsafeMutableRawPointer?, UnsafeMutablePointer<arbiter_strategy_info>?, ErrorOut
) -> arbiter_status = { plugin, info, errorOut in
    guard let plugin, let info else { return fail(.invalidArgument("describe needs a plugin and an info struct"), errorOut) }
    let box = PluginBox.from(plugin)
    var full = arbiter_strategy_info()
    full.state_format_version = box.descriptor.stateFormatVersion
    full.name = UnsafePointer(box.name)
    full.version = UnsafePointer(box.version)
    full.summary = UnsafePointer(box.summary)
    full.parameters_json = UnsafePointer(box.parametersJSON)
    full.reward_min = box.descriptor.rewardRange.lowerBound
    full.reward_max = box.descriptor.rewardRange.upperBound
    let copied = copyPrefix(of: full, into: info, hostSize: info.pointee.struct_size)
    info.pointee.struct_size = UInt32(copied)
    return ARBITER_OK
}

let createThunk: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UInt32, UnsafeMutablePointer<OpaquePointer?>?, ErrorOut
) -> arbiter_status = { plugin, config, armCount, instance, errorOut in
    guard let plugin, let instance else { return fail(.invalidArgument("create needs a plugin and an instance slot"), errorOut) }
    let box = PluginBox.from(plugin)
    return guarded(errorOut) { () throws(StrategyError) in
        guard armCount >= 1, Int(armCount) <= maximumArmCount else {
            throw .invalidArgument("arm count must be between 1 and \(maximumArmCount), got \(armCount)")
        }
        let parameters = try box.parameters(config)
        let strategy = try box.strategy.init(parameters: parameters, armCount: Int(armCount))
        instance.pointee = InstanceBox(strategy, plugin: box).handle
    }
}

let destroyThunk: @convention(c) (OpaquePointer?) -> Void = { instance in
    guard let instance else { return }
    Unmanaged<InstanceBox>.fromOpaque(UnsafeRawPointer(instance)).release()
}

let armCountThunk: @convention(c) (OpaquePointer?) -> UInt32 = { instance in
    guard let instance else { return 0 }
    return UInt32(InstanceBox.from(instance).strategy.armCount)
}

let addArmsThunk: @convention(c) (OpaquePointer?, UInt32, ErrorOut) -> arbiter_status = { instance, count, errorOut in
    guard let instance else { return fail(.invalidArgument("add_arms needs an instance"), errorOut) }
    let strategy = InstanceBox.from(instance).strategy
    return guarded(errorOut) { () throws(StrategyError) in
        guard count >= 1, strategy.armCount + Int(count) <= maximumArmCount else {
            throw .invalidArgument("cannot add \(count) arms to \(strategy.armCount): the total must stay within 1...\(maximumArmCount)")
        }
        strategy.addArms(Int(count))
    }
}

/// Validates one request and makes the decision.
@inline(__always)
func selectOne(
    _ strategy: any SelectionStrategy,
    _ request: UnsafePointer<arbiter_select_request>,
    _ selection: UnsafeMutablePointer<arbiter_selection>
) throws(StrategyError) {
    let checked = try validatedRequest(strategy, request)
    let eligible = checked.eligible
    let scores = selection.pointee.scores.map { UnsafeMutableBufferPointer(start: $0, count: eligible.count) }
    let result = strategy.select(checked, scores: scores)
    selection.pointee.arm = result.arm
    selection.pointee.propensity = result.propensity
}

/// Checks one request as `selectOne` does and wraps it for the strategy.
@inline(__always)
func validatedRequest(
    _ strategy: any SelectionStrategy, _ request: UnsafePointer<arbiter_select_request>
) throws(StrategyError) -> SelectionRequest {
    let r = request.pointee
    guard r.struct_size >= UInt32(MemoryLayout<arbiter_select_request>.size) else {
        throw .invalidArgument("select request struct_size \(r.struct_size) is smaller than ABI 1.0's")
    }
    guard r.eligible_count >= 1, let eligiblePointer = r.eligible_arms else {
        throw .invalidArgument("a decision needs at least one eligible arm")
    }
    let eligible = UnsafeBufferPointer(start: eligiblePointer, count: Int(r.eligible_count))
    let armCount = strategy.armCount
    for arm in eligible where Int(arm) >= armCount {
        throw .invalidArgument("eligible arm \(arm) does not exist (the instance has \(armCount) arms)")
    }
    var context = UnsafeBufferPointer<Double>(start: nil, count: 0)
    if r.context_count > 0 {
        guard let contextPointer = r.context else {
            throw .invalidArgument("context_count is \(r.context_count) but context is NULL")
        }
        context = UnsafeBufferPointer(start: contextPointer, count: Int(r.context_count))
    }
    let wantsPropensity = r.flags & UInt32(ARBITER_SELECT_SKIP_PROPENSITY) == 0
    return SelectionRequest(eligible: eligible, context: context, seed: r.seed, wantsPropensity: wantsPropensity)
}

let probabilitiesThunk: @convention(c) (
    OpaquePointer?, UnsafePointer<arbiter_select_request>?, UnsafeMutablePointer<Double>?, ErrorOut
) -> arbiter_status = { instance, request, probabilities, errorOut in
    guard let instance, let request, let probabilities else {
        return fail(.invalidArgument("probabilities needs an instance, a request and an output array"), errorOut)
    }
    return InstanceBox.withStrategy(instance) { strategy, _ in
        guarded(errorOut) { () throws(StrategyError) in
            let checked = try validatedRequest(strategy, request)
            try strategy.probabilities(checked, into: UnsafeMutableBufferPointer(start: probabilities, count: checked.eligible.count))
        }
    }
}

let selectThunk: @convention(c) (
    OpaquePointer?, UnsafePointer<arbiter_select_request>?, UnsafeMutablePointer<arbiter_selection>?, ErrorOut
) -> arbiter_status = { instance, request, selection, errorOut in
    guard let instance, let request, let selection else {
        return fail(.invalidArgument("select needs an instance, a request and a selection"), errorOut)
    }
    return InstanceBox.withStrategy(instance) { strategy, _ in
        guarded(errorOut) { () throws(StrategyError) in try selectOne(strategy, request, selection) }
    }
}

let selectBatchThunk: @convention(c) (
    OpaquePointer?, UnsafePointer<arbiter_select_request>?, UnsafeMutablePointer<arbiter_selection>?, UInt32, ErrorOut
) -> arbiter_status = { instance, requests, selections, count, errorOut in
    guard let instance, let requests, let selections else {
        return fail(.invalidArgument("select_batch needs an instance, requests and selections"), errorOut)
    }
    guard count > 0 else { return ARBITER_OK }
    let strategy = InstanceBox.from(instance).strategy
    let requestStride = Int(requests.pointee.struct_size)
    let selectionStride = Int(selections.pointee.struct_size)
    guard requestStride >= MemoryLayout<arbiter_select_request>.size,
          selectionStride >= MemoryLayout<arbiter_selection>.size else {
        return fail(.invalidArgument("select_batch strides are smaller than ABI 1.0's structs"), errorOut)
    }
    return guarded(errorOut) { () throws(StrategyError) in
        for index in 0..<Int(count) {
            let request = UnsafeRawPointer(requests).advanced(by: index * requestStride)
                .assumingMemoryBound(to: arbiter_select_request.self)
            let selection = UnsafeMutableRawPointer(selections).advanced(by: index * selectionStride)
                .assumingMemoryBound(to: arbiter_selection.self)
            do throws(StrategyError) {
                try selectOne(strategy, request, selection)
            } catch {
                throw StrategyError(status: error.status, "request \(index): \(error.message)")
            }
        }
    }
}

let updateThunk: @convention(c) (
    OpaquePointer?, UnsafePointer<arbiter_update_record>?, UInt64, ErrorOut
) -> arbiter_status = { instance, records, count, errorOut in
    guard let instance else { return fail(.invalidArgument("update needs an instance"), errorOut) }
    guard count > 0 else { return ARBITER_OK }
    guard let records else { return fail(.invalidArgument("update has \(count) records but records is NULL"), errorOut) }
    let batch = UnsafeBufferPointer(start: records, count: Int(count))
    return InstanceBox.withStrategy(instance) { strategy, plugin in guarded(errorOut) { () throws(StrategyError) in
        let range = plugin.descriptor.rewardRange
        // Validate everything first: an update is all-or-nothing.
        let armCount = strategy.armCount
        for (index, record) in batch.enumerated() {
            guard Int(record.arm) < armCount else {
                throw .invalidArgument("record \(index): arm \(record.arm) does not exist (the instance has \(armCount) arms)")
            }
            guard record.reward.isFinite, range.contains(record.reward) else {
                throw .invalidArgument("record \(index): reward \(record.reward) is outside [\(range.lowerBound), \(range.upperBound)] or not finite")
            }
            guard record.weight.isFinite, record.weight >= 0 else {
                throw .invalidArgument("record \(index): weight \(record.weight) must be finite and >= 0")
            }
            guard record.context_count == 0 || record.context != nil else {
                throw .invalidArgument("record \(index): context_count is \(record.context_count) but context is NULL")
            }
        }
        strategy.apply(batch)
    } }
}

/// Writes `bytes` with the buffer protocol shared by serialize and inspect.
func deliver(
    _ count: Int, into buffer: UnsafeMutableRawPointer?, capacity: UInt64, length: UnsafeMutablePointer<UInt64>?,
    _ errorOut: ErrorOut, write: (UnsafeMutableRawPointer) -> Void
) -> arbiter_status {
    length?.pointee = UInt64(count)
    guard let buffer, capacity >= UInt64(count) else {
        return fail(StrategyError(status: ARBITER_E_BUFFER_TOO_SMALL, "buffer of \(capacity) bytes is too small: \(count) needed"), errorOut)
    }
    write(buffer)
    return ARBITER_OK
}

let serializeThunk: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UInt8>?, UInt64, UnsafeMutablePointer<UInt64>?, ErrorOut
) -> arbiter_status = { instance, buffer, capacity, length, errorOut in
    guard let instance else { return fail(.invalidArgument("serialize needs an instance"), errorOut) }
    let box = InstanceBox.from(instance)
    var writer = StateWriter()
    box.strategy.encodeState(into: &writer)
    let payload = writer.bytes
    let total = Int(ARBITER_ENVELOPE_FIXED_SIZE) + box.plugin.descriptor.name.utf8.count + payload.count
    return deliver(total, into: buffer, capacity: capacity, length: length, errorOut) { destination in
        let bytes = destination.assumingMemoryBound(to: UInt8.self)
        let header = Int(arbiter_envelope_write_header(bytes, box.plugin.name, box.plugin.descriptor.stateFormatVersion, UInt64(payload.count)))
        payload.withUnsafeBytes { (bytes + header).update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: payload.count) }
    }
}

let deserializeThunk: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<UInt8>?, UInt64, UnsafeMutablePointer<OpaquePointer?>?, ErrorOut
) -> arbiter_status = { plugin, config, bytes, length, instance, errorOut in
    guard let plugin, let instance else { return fail(.invalidArgument("deserialize needs a plugin and an instance slot"), errorOut) }
    let box = PluginBox.from(plugin)
    var envelope = arbiter_envelope()
    let status = arbiter_envelope_parse(bytes, length, &envelope, errorOut)
    guard status == ARBITER_OK else { return status }
    return guarded(errorOut) { () throws(StrategyError) in
        let name = String(decoding: UnsafeRawBufferPointer(start: envelope.name, count: Int(envelope.name_length)), as: UTF8.self)
        let descriptor = box.descriptor
        guard name == descriptor.name else {
            throw .invalidState("state belongs to strategy '\(name)', not '\(descriptor.name)'")
        }
        guard envelope.state_format_version >= 1, envelope.state_format_version <= descriptor.stateFormatVersion else {
            throw .invalidState("state format version \(envelope.state_format_version) is not readable by \(descriptor.name) \(descriptor.version), which reads 1...\(descriptor.stateFormatVersion)")
        }
        let parameters = try box.parameters(config)
        var reader = StateReader(UnsafeRawBufferPointer(start: envelope.payload, count: Int(envelope.payload_length)))
        let strategy = try box.strategy.init(parameters: parameters, state: &reader, formatVersion: envelope.state_format_version)
        try reader.finish()
        if envelope.state_format_version < descriptor.stateFormatVersion {
            box.log(Int32(ARBITER_LOG_INFO), "migrated state from format \(envelope.state_format_version) to \(descriptor.stateFormatVersion)")
        }
        instance.pointee = InstanceBox(strategy, plugin: box).handle
    }
}

let inspectThunk: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<CChar>?, UInt64, UnsafeMutablePointer<UInt64>?, ErrorOut
) -> arbiter_status = { instance, buffer, capacity, length, errorOut in
    guard let instance else { return fail(.invalidArgument("inspect needs an instance"), errorOut) }
    let json = Array(InstanceBox.from(instance).strategy.inspect().utf8)
    return deliver(json.count, into: buffer, capacity: capacity, length: length, errorOut) { destination in
        json.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: json.count) }
    }
}
