/*
 * arbiter_strategy.h: the Arbiter strategy plugin ABI, major version 1.
 *
 * This header is the whole contract between the Arbiter host and a selection
 * strategy plugin. A plugin is a shared library that exports one symbol,
 * `arbiter_strategy_entry_v1`, and is written in any language that can export
 * C symbols. Docs/plugin-abi.md explains every rule below with examples.
 *
 * Rules that hold for every function in this header:
 *
 *  - Types: fixed-width integers, doubles, NUL-terminated UTF-8 strings and
 *    arrays passed as pointer + count. No language object crosses the boundary.
 *  - Errors: every call returns an arbiter_status. On failure the plugin writes a
 *    NUL-terminated message into the host-owned arbiter_error buffer (truncating
 *    to its capacity) and leaves the instance exactly as it was before the call.
 *    Nothing is thrown or unwound across the boundary.
 *  - Ownership: "borrowed" means the caller owns the memory and the callee may
 *    read (or write, for output buffers) it only during the call. Every pointer
 *    argument in this header is borrowed unless its comment says otherwise.
 *    Strings returned in arbiter_strategy_info and arbiter_strategy_vtable are
 *    owned by the plugin and must stay valid for the life of the process
 *    (plugins are never unloaded). Instances are owned by the host from create()
 *    or deserialize() until it passes them to destroy().
 *  - Threads: one instance is never called concurrently; the host serialises all
 *    calls on it. Distinct instances may be called concurrently from different
 *    threads, so instances must not share mutable state. describe(), create()
 *    and deserialize() may be called concurrently from any thread.
 *  - Growth: every struct that crosses the boundary and may grow starts with
 *    `struct_size`. Fields are only ever appended, never reordered or removed,
 *    within a major version. A reader never touches bytes past `struct_size`.
 */
#ifndef ARBITER_STRATEGY_H
#define ARBITER_STRATEGY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version. A host refuses a plugin with another major; a plugin with a
 * newer minor than the host is accepted (the host reads only what it knows). */
#define ARBITER_ABI_MAJOR 1
#define ARBITER_ABI_MINOR 1

#if defined(_WIN32)
#define ARBITER_EXPORT __declspec(dllexport)
#else
#define ARBITER_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------ */
/* Status codes                                                               */
/* ------------------------------------------------------------------------ */

typedef int32_t arbiter_status;

#define ARBITER_OK 0
/** A request argument is invalid (arm out of range, reward not finite...). */
#define ARBITER_E_INVALID_ARGUMENT 1
/** The JSON configuration is malformed or a parameter is out of range. */
#define ARBITER_E_INVALID_CONFIG 2
/** A state blob is malformed, truncated, for another strategy, or too new. */
#define ARBITER_E_INVALID_STATE 3
/** An output buffer is too small; the required length was written. */
#define ARBITER_E_BUFFER_TOO_SMALL 4
/** The operation is not supported by this plugin. */
#define ARBITER_E_UNSUPPORTED 5
/** Anything else; the instance is unchanged. */
#define ARBITER_E_INTERNAL 6

/* ------------------------------------------------------------------------ */
/* Errors                                                                     */
/* ------------------------------------------------------------------------ */

/** A host-owned buffer for an error message. The plugin writes a
 * NUL-terminated UTF-8 message of at most capacity - 1 bytes. */
typedef struct arbiter_error {
    char *message;
    uint32_t capacity;
} arbiter_error;

/** Copies `text` into `error`, truncating to its capacity. */
static inline void arbiter_error_set(arbiter_error *error, const char *text) {
    if (error == NULL || error->message == NULL || error->capacity == 0 || text == NULL) {
        return;
    }
    size_t length = strlen(text);
    if (length >= error->capacity) {
        length = error->capacity - 1;
    }
    memcpy(error->message, text, length);
    error->message[length] = '\0';
}

/* ------------------------------------------------------------------------ */
/* The host API table (host -> plugin)                                        */
/* ------------------------------------------------------------------------ */

#define ARBITER_LOG_DEBUG 0
#define ARBITER_LOG_INFO 1
#define ARBITER_LOG_WARNING 2
#define ARBITER_LOG_ERROR 3

/** Services the host offers a plugin. Owned by the host and valid for the life
 * of the process: a plugin may keep the pointer it receives at entry. A field
 * past `struct_size` is absent (an older host); a plugin checks before use. */
typedef struct arbiter_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /** Opaque host pointer, passed back to every host function. */
    void *context;
    /** Logs one message (borrowed) at one of the ARBITER_LOG_* levels.
     * Safe to call from any thread. */
    void (*log)(void *context, int32_t level, const char *message);
} arbiter_host_api;

/* ------------------------------------------------------------------------ */
/* Describe                                                                   */
/* ------------------------------------------------------------------------ */

/** What a strategy is. The host zeroes it and sets struct_size; the plugin
 * fills the fields that lie within struct_size. Strings are plugin-owned and
 * static. */
typedef struct arbiter_strategy_info {
    uint32_t struct_size;
    /** Version of the payload inside this plugin's state envelope. A plugin
     * reads every state format up to and including this one. */
    uint32_t state_format_version;
    /** Unique strategy name, [a-z0-9-]+, e.g. "thompson". */
    const char *name;
    /** Plugin version, semantic versioning, e.g. "1.2.0". */
    const char *version;
    /** One sentence for people. */
    const char *summary;
    /** JSON object describing the parameters: see Docs/plugin-abi.md. */
    const char *parameters_json;
    /** Rewards the strategy accepts, inclusive. Use -INFINITY / INFINITY for
     * an unbounded side; NaN and infinite rewards are always refused. */
    double reward_min;
    double reward_max;
} arbiter_strategy_info;

/* ------------------------------------------------------------------------ */
/* Decisions and updates                                                      */
/* ------------------------------------------------------------------------ */

/** Opaque strategy instance, owned by the plugin's allocator. */
typedef struct arbiter_instance arbiter_instance;

/** Set in arbiter_select_request.flags when the host does not need the
 * propensity; the plugin may then write NaN into selection->propensity. */
#define ARBITER_SELECT_SKIP_PROPENSITY 1u

/** One decision request. Built by the host; the plugin reads the fields that
 * lie within struct_size. Selection must be a pure function of (instance
 * state, eligible_arms, context, seed): the same inputs give the same arm,
 * propensity and scores, so any past decision can be replayed. */
typedef struct arbiter_select_request {
    uint32_t struct_size;
    /** ARBITER_SELECT_* flags. */
    uint32_t flags;
    /** Borrowed. The arms available for this decision: distinct indices,
     * each lower than the instance's arm count, at least one. */
    const uint32_t *eligible_arms;
    uint32_t eligible_count;
    /** Number of context features (0 when there is no context). */
    uint32_t context_count;
    /** Borrowed. Context features; reserved for contextual strategies,
     * which are the only ones that read it. */
    const double *context;
    /** Seed for every random draw this decision makes. */
    uint64_t seed;
} arbiter_select_request;

/** The outcome of one decision, written by the plugin. */
typedef struct arbiter_selection {
    uint32_t struct_size;
    /** The chosen arm: one of the request's eligible_arms. */
    uint32_t arm;
    /** Probability in (0, 1] that this policy chose `arm` given the state and
     * the eligible set. Exact where closed-form; strategies that estimate it
     * say how in their parameters_json ("propensity"). */
    double propensity;
    /** Host-owned, optional (NULL when not wanted). When present it has
     * eligible_count entries and the plugin writes the score it gives
     * eligible_arms[i] into scores[i] (higher is better). */
    double *scores;
} arbiter_selection;

/** One piece of feedback. This layout is frozen for ABI major 1. */
typedef struct arbiter_update_record {
    /** The arm that was chosen, lower than the instance's arm count. */
    uint32_t arm;
    /** Number of context features of the decision. Reserved: the host of
     * ABI 1.0 and 1.1 does not keep decisions' contexts and always passes 0 (and
     * context NULL); a later minor version may fill it, so a plugin reads
     * context only when context_count is non-zero. */
    uint32_t context_count;
    /** The reward, finite and within [reward_min, reward_max]. */
    double reward;
    /** Importance of the record, finite and >= 0; 1 for plain feedback. */
    double weight;
    /** Borrowed. The decision's context; NULL when context_count is 0
     * (always, from a 1.0 or 1.1 host). */
    const double *context;
} arbiter_update_record;

/* ------------------------------------------------------------------------ */
/* State envelope                                                             */
/* ------------------------------------------------------------------------ */

/*
 * serialize() produces, and deserialize() accepts, a self-describing envelope.
 * All integers are little-endian.
 *
 *   offset 0   4 bytes  magic "ARBS"
 *   offset 4   u16      envelope version (1)
 *   offset 6   u16      name length n (bytes, no NUL)
 *   offset 8   u32      state format version of the payload
 *   offset 12  u64      payload length p
 *   offset 20  n bytes  strategy name (UTF-8)
 *   offset 20+n p bytes payload, defined by the strategy
 *
 * The host reads the header to version the state; only the plugin reads the
 * payload. A plugin accepts payloads of every format version up to its own and
 * refuses newer ones with ARBITER_E_INVALID_STATE.
 */
#define ARBITER_ENVELOPE_VERSION 1
#define ARBITER_ENVELOPE_FIXED_SIZE 20

/** A parsed envelope header; `name` and `payload` point into the parsed bytes. */
typedef struct arbiter_envelope {
    uint32_t state_format_version;
    uint16_t envelope_version;
    uint16_t name_length;
    const char *name;
    const uint8_t *payload;
    uint64_t payload_length;
} arbiter_envelope;

static inline uint64_t arbiter_read_le(const uint8_t *bytes, int count) {
    uint64_t value = 0;
    for (int i = count - 1; i >= 0; i--) {
        value = (value << 8) | bytes[i];
    }
    return value;
}

static inline void arbiter_write_le(uint8_t *bytes, uint64_t value, int count) {
    for (int i = 0; i < count; i++) {
        bytes[i] = (uint8_t)(value >> (8 * i));
    }
}

/** Parses an envelope header. Returns ARBITER_OK, or ARBITER_E_INVALID_STATE
 * (with a message) when the bytes are not a complete version-1 envelope. */
static inline arbiter_status arbiter_envelope_parse(const uint8_t *bytes, uint64_t length,
                                                    arbiter_envelope *out, arbiter_error *error) {
    if (bytes == NULL || length < ARBITER_ENVELOPE_FIXED_SIZE) {
        arbiter_error_set(error, "state is shorter than the envelope header");
        return ARBITER_E_INVALID_STATE;
    }
    if (memcmp(bytes, "ARBS", 4) != 0) {
        arbiter_error_set(error, "state does not start with the ARBS magic");
        return ARBITER_E_INVALID_STATE;
    }
    out->envelope_version = (uint16_t)arbiter_read_le(bytes + 4, 2);
    if (out->envelope_version != ARBITER_ENVELOPE_VERSION) {
        arbiter_error_set(error, "unknown state envelope version");
        return ARBITER_E_INVALID_STATE;
    }
    out->name_length = (uint16_t)arbiter_read_le(bytes + 6, 2);
    out->state_format_version = (uint32_t)arbiter_read_le(bytes + 8, 4);
    out->payload_length = arbiter_read_le(bytes + 12, 8);
    uint64_t available = length - ARBITER_ENVELOPE_FIXED_SIZE;
    if (out->name_length > available || out->payload_length != available - out->name_length) {
        arbiter_error_set(error, "state envelope lengths do not match its size");
        return ARBITER_E_INVALID_STATE;
    }
    out->name = (const char *)(bytes + ARBITER_ENVELOPE_FIXED_SIZE);
    out->payload = bytes + ARBITER_ENVELOPE_FIXED_SIZE + out->name_length;
    return ARBITER_OK;
}

/** Writes an envelope header for `name` (NUL-terminated) into `bytes`, which
 * must hold ARBITER_ENVELOPE_FIXED_SIZE + strlen(name) bytes; the payload
 * follows it. Returns the header length. */
static inline uint64_t arbiter_envelope_write_header(uint8_t *bytes, const char *name,
                                                     uint32_t state_format_version,
                                                     uint64_t payload_length) {
    uint64_t name_length = strlen(name);
    memcpy(bytes, "ARBS", 4);
    arbiter_write_le(bytes + 4, ARBITER_ENVELOPE_VERSION, 2);
    arbiter_write_le(bytes + 6, name_length, 2);
    arbiter_write_le(bytes + 8, state_format_version, 4);
    arbiter_write_le(bytes + 12, payload_length, 8);
    memcpy(bytes + ARBITER_ENVELOPE_FIXED_SIZE, name, name_length);
    return ARBITER_ENVELOPE_FIXED_SIZE + name_length;
}

/* ------------------------------------------------------------------------ */
/* The vtable (plugin -> host)                                                */
/* ------------------------------------------------------------------------ */

/** The language a plugin is built in. Swift plugins must carry the exact
 * toolchain signature of the host (Swift has no stable ABI on Linux). */
#define ARBITER_LANGUAGE_C 1
#define ARBITER_LANGUAGE_SWIFT 2
#define ARBITER_LANGUAGE_OTHER 3

/** The plugin's functions. The host zeroes it and sets struct_size to the size
 * it knows; the plugin writes only the fields within that size and then sets
 * struct_size to min(host size, plugin size). Optional functions may be NULL. */
typedef struct arbiter_strategy_vtable {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /** One of ARBITER_LANGUAGE_*. */
    uint32_t language;
    uint32_t reserved;
    /** Build signature: for Swift, arbiter_swift_toolchain_signature() as
     * compiled into the plugin; for C and others any descriptive string. */
    const char *toolchain;
    /** Plugin-owned pointer passed back to describe, create and deserialize. */
    void *plugin;

    /** Describes the strategy. Required. */
    arbiter_status (*describe)(void *plugin, arbiter_strategy_info *info, arbiter_error *error);

    /** Creates an instance from a JSON object of parameters (borrowed; "{}" for
     * all defaults) with `arm_count` arms (>= 1). Unknown or out-of-range
     * parameters fail with ARBITER_E_INVALID_CONFIG. Required. */
    arbiter_status (*create)(void *plugin, const char *config_json, uint32_t arm_count,
                             arbiter_instance **instance, arbiter_error *error);

    /** Destroys an instance. Required. */
    void (*destroy)(arbiter_instance *instance);

    /** Number of arms of an instance. Required. */
    uint32_t (*arm_count)(const arbiter_instance *instance);

    /** Appends `count` new arms (indices arm_count ... arm_count + count - 1)
     * without changing anything known about the existing ones. Required. */
    arbiter_status (*add_arms)(arbiter_instance *instance, uint32_t count, arbiter_error *error);

    /** Makes one decision. Required. */
    arbiter_status (*select)(arbiter_instance *instance, const arbiter_select_request *request,
                             arbiter_selection *selection, arbiter_error *error);

    /** Makes `count` decisions; requests and selections are arrays whose
     * element stride is requests[0].struct_size and selections[0].struct_size.
     * Equivalent to calling select() on each in order. Optional. On failure,
     * the message names the failing index; earlier selections are valid. */
    arbiter_status (*select_batch)(arbiter_instance *instance, const arbiter_select_request *requests,
                                   arbiter_selection *selections, uint32_t count,
                                   arbiter_error *error);

    /** Learns from `count` records in order. All-or-nothing: if any record is
     * invalid nothing is applied and the message names its index. Required. */
    arbiter_status (*update)(arbiter_instance *instance, const arbiter_update_record *records,
                             uint64_t count, arbiter_error *error);

    /** Writes the instance state as an envelope into `buffer` (host-owned,
     * `capacity` bytes) and its length into *length. If buffer is NULL or too
     * small, writes the required length into *length and returns
     * ARBITER_E_BUFFER_TOO_SMALL. Deterministic: the same state gives the same
     * bytes. Required. */
    arbiter_status (*serialize)(const arbiter_instance *instance, uint8_t *buffer, uint64_t capacity,
                                uint64_t *length, arbiter_error *error);

    /** Creates an instance from an envelope written by serialize() of this
     * strategy, at any state format version up to the plugin's own, and the
     * parameters `config_json` (which may differ from those of the instance
     * that was serialized: learned state is kept, parameters are replaced).
     * Required. */
    arbiter_status (*deserialize)(void *plugin, const char *config_json, const uint8_t *bytes,
                                  uint64_t length, arbiter_instance **instance,
                                  arbiter_error *error);

    /** Writes a JSON summary of the learned state, {"arms": [{...}, ...]},
     * with the strategy's own per-arm parameters; same buffer protocol as
     * serialize(). Optional. */
    arbiter_status (*inspect)(const arbiter_instance *instance, char *buffer, uint64_t capacity,
                              uint64_t *length, arbiter_error *error);

    /* ---- ABI 1.1 ---------------------------------------------------------- */

    /** Writes into probabilities[i] the probability that select() with this
     * request would choose request->eligible_arms[i] (`probabilities` is
     * host-owned, eligible_count entries). The values are finite, in [0, 1]
     * and sum to 1; an arm the policy cannot choose gets exactly 0. A pure
     * function of the state and the eligible set, like the propensity: the
     * seed is not used, and an estimate (Thompson sampling's) is the same
     * estimate select() reports as its propensity. The host uses it to
     * evaluate the strategy off-policy on logged decisions. Optional (NULL, or
     * absent from a 1.0 plugin's shorter vtable): such a strategy cannot be
     * evaluated, and the host says so. */
    arbiter_status (*probabilities)(arbiter_instance *instance, const arbiter_select_request *request,
                                    double *probabilities, arbiter_error *error);
} arbiter_strategy_vtable;

/** The size of ABI 1.0's vtable: a plugin built for 1.0 reports this
 * struct_size, and every function after it is absent. */
#define ARBITER_VTABLE_SIZE_1_0 (offsetof(arbiter_strategy_vtable, probabilities))

/** The one exported entry point of a plugin for ABI major 1. The host passes
 * its API table (valid for the life of the process) and a zeroed vtable whose
 * struct_size it has set; the plugin fills the vtable. */
typedef arbiter_status (*arbiter_strategy_entry_fn)(const arbiter_host_api *host,
                                                    arbiter_strategy_vtable *vtable,
                                                    arbiter_error *error);

#define ARBITER_ENTRY_SYMBOL "arbiter_strategy_entry_v1"
#define ARBITER_ENTRY_SYMBOL_PREFIX "arbiter_strategy_entry_v"

/* ------------------------------------------------------------------------ */
/* Toolchain signature (Swift plugins)                                        */
/* ------------------------------------------------------------------------ */

/** The compiler that compiles this inline function. Imported into Swift, it is
 * compiled by the Swift compiler's own embedded clang, whose version string
 * carries the exact commit of the Swift toolchain: a Swift plugin and the host
 * agree on it only when they were built by the same toolchain. */
static inline const char *arbiter_swift_toolchain_signature(void) {
#if defined(__clang_version__)
    return "clang " __clang_version__;
#else
    return "unknown compiler";
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* ARBITER_STRATEGY_H */
