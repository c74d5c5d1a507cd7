/*
 * A configurable test plugin. Each test build picks, with -D flags, one way in
 * which it is broken (or not), so the host's handling of every fault can be
 * shown with a real dlopen:
 *
 *   FIXTURE_NAME, FIXTURE_VERSION     what describe() reports
 *   FIXTURE_ENTRY_MAJOR               suffix of the entry symbol (default 1)
 *   FIXTURE_VTABLE_MAJOR / _MINOR     ABI version written into the vtable
 *   FIXTURE_LANGUAGE, FIXTURE_TOOLCHAIN  build signature
 *   FIXTURE_DESCRIBE_FAILS            describe() returns an error
 *   FIXTURE_SELECT                    0 valid, 1 arm outside the eligible set,
 *                                     2 NaN propensity, 3 error status
 *   FIXTURE_SELECT_SLEEP_US           select sleeps this long first (a slow plugin)
 *   FIXTURE_ABI_1_0                   a plugin built for ABI 1.0: minor 0 and the
 *                                     1.0 vtable's size (no probabilities)
 *   FIXTURE_PROBABILITIES             0 valid (all on the first eligible arm, as
 *                                     select chooses), 1 values that do not sum to 1
 *   FIXTURE_PICK_LAST                 choose the last eligible arm instead (so a
 *                                     test can tell two builds' decisions apart)
 *   FIXTURE_STATE_FORMAT              the state format it declares and writes (1)
 *   FIXTURE_READS_FORMAT_MIN          the oldest state format it reads (1)
 *
 * When valid, it chooses the first eligible arm with propensity 1. Its state
 * is the arm count and how many records it has learned, so a test can see a
 * state move from one build to another and count what was learned.
 */
#define _POSIX_C_SOURCE 200809L  /* nanosleep */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbiter_strategy.h"

#ifndef FIXTURE_NAME
#define FIXTURE_NAME "fixture"
#endif
#ifndef FIXTURE_VERSION
#define FIXTURE_VERSION "1.0.0"
#endif
#ifndef FIXTURE_ENTRY_MAJOR
#define FIXTURE_ENTRY_MAJOR 1
#endif
#ifndef FIXTURE_VTABLE_MAJOR
#define FIXTURE_VTABLE_MAJOR ARBITER_ABI_MAJOR
#endif
#ifndef FIXTURE_VTABLE_MINOR
#define FIXTURE_VTABLE_MINOR ARBITER_ABI_MINOR
#endif
#ifndef FIXTURE_LANGUAGE
#define FIXTURE_LANGUAGE ARBITER_LANGUAGE_C
#endif
#ifndef FIXTURE_TOOLCHAIN
#define FIXTURE_TOOLCHAIN "fixture C"
#endif
#ifndef FIXTURE_PROBABILITIES
#define FIXTURE_PROBABILITIES 0
#endif
#ifdef FIXTURE_ABI_1_0
#undef FIXTURE_VTABLE_MINOR
#define FIXTURE_VTABLE_MINOR 0
#endif
#ifndef FIXTURE_STATE_FORMAT
#define FIXTURE_STATE_FORMAT 1
#endif
#ifndef FIXTURE_READS_FORMAT_MIN
#define FIXTURE_READS_FORMAT_MIN 1
#endif
#ifdef FIXTURE_PICK_LAST
#define PICK(request) ((request)->eligible_count - 1)
#else
#define PICK(request) 0
#endif
#ifndef FIXTURE_SELECT
#define FIXTURE_SELECT 0
#endif

#define CONCAT2(a, b) a##b
#define CONCAT(a, b) CONCAT2(a, b)
#define ENTRY CONCAT(arbiter_strategy_entry_v, FIXTURE_ENTRY_MAJOR)

struct arbiter_instance {
    uint32_t arms;
    uint64_t learned;
};

static arbiter_status fixture_describe(void *plugin, arbiter_strategy_info *info, arbiter_error *error) {
    (void)plugin;
#ifdef FIXTURE_DESCRIBE_FAILS
    (void)info;
    arbiter_error_set(error, "fixture describe always fails");
    return ARBITER_E_INTERNAL;
#else
    (void)error;
    arbiter_strategy_info full = {0};
    full.struct_size = sizeof full;
    full.state_format_version = FIXTURE_STATE_FORMAT;
    full.name = FIXTURE_NAME;
    full.version = FIXTURE_VERSION;
    full.summary = "test fixture";
    full.parameters_json = "{\"parameters\":[]}";
    full.reward_min = 0;
    full.reward_max = 1;
    uint32_t size = info->struct_size < sizeof full ? info->struct_size : (uint32_t)sizeof full;
    memcpy(info, &full, size);
    info->struct_size = size;
    return ARBITER_OK;
#endif
}

static arbiter_status fixture_create(void *plugin, const char *config, uint32_t arms, arbiter_instance **out,
                                     arbiter_error *error) {
    (void)plugin;
    (void)config;
    (void)error;
    *out = calloc(1, sizeof **out);
    (*out)->arms = arms;
    return ARBITER_OK;
}

static void fixture_destroy(arbiter_instance *s) { free(s); }

static uint32_t fixture_arm_count(const arbiter_instance *s) { return s->arms; }

static arbiter_status fixture_add_arms(arbiter_instance *s, uint32_t count, arbiter_error *error) {
    (void)error;
    s->arms += count;
    return ARBITER_OK;
}

static arbiter_status fixture_select(arbiter_instance *s, const arbiter_select_request *request,
                                     arbiter_selection *selection, arbiter_error *error) {
    (void)s;
    (void)error;
#ifdef FIXTURE_SELECT_SLEEP_US
    struct timespec pause = {FIXTURE_SELECT_SLEEP_US / 1000000, (FIXTURE_SELECT_SLEEP_US % 1000000) * 1000};
    nanosleep(&pause, NULL);
#endif
    selection->arm = request->eligible_arms[PICK(request)];
    selection->propensity = 1;
#if FIXTURE_SELECT == 1
    selection->arm = 4000000000u;
#elif FIXTURE_SELECT == 2
    selection->propensity = NAN;
#elif FIXTURE_SELECT == 3
    arbiter_error_set(error, "fixture select always fails");
    return ARBITER_E_INTERNAL;
#endif
    return ARBITER_OK;
}

#ifndef FIXTURE_ABI_1_0
static arbiter_status fixture_probabilities(arbiter_instance *s, const arbiter_select_request *request,
                                            double *probabilities, arbiter_error *error) {
    (void)s;
    (void)error;
    for (uint32_t i = 0; i < request->eligible_count; i++) probabilities[i] = i == PICK(request) ? 1 : 0;
#if FIXTURE_PROBABILITIES == 1
    probabilities[0] = 0.5;
#endif
    return ARBITER_OK;
}
#endif

static arbiter_status fixture_update(arbiter_instance *s, const arbiter_update_record *records, uint64_t count,
                                     arbiter_error *error) {
    (void)records;
    (void)error;
    s->learned += count;
    return ARBITER_OK;
}

static arbiter_status fixture_serialize(const arbiter_instance *s, uint8_t *buffer, uint64_t capacity,
                                        uint64_t *length, arbiter_error *error) {
    uint64_t total = ARBITER_ENVELOPE_FIXED_SIZE + strlen(FIXTURE_NAME) + 12;
    *length = total;
    if (buffer == NULL || capacity < total) {
        arbiter_error_set(error, "buffer too small");
        return ARBITER_E_BUFFER_TOO_SMALL;
    }
    uint64_t header = arbiter_envelope_write_header(buffer, FIXTURE_NAME, FIXTURE_STATE_FORMAT, 12);
    arbiter_write_le(buffer + header, s->arms, 4);
    arbiter_write_le(buffer + header + 4, s->learned, 8);
    return ARBITER_OK;
}

static arbiter_status fixture_deserialize(void *plugin, const char *config, const uint8_t *bytes, uint64_t length,
                                          arbiter_instance **out, arbiter_error *error) {
    (void)plugin;
    (void)config;
    arbiter_envelope envelope;
    arbiter_status status = arbiter_envelope_parse(bytes, length, &envelope, error);
    if (status != ARBITER_OK) return status;
    if (envelope.state_format_version < FIXTURE_READS_FORMAT_MIN) {
        arbiter_error_set(error, "this build no longer reads an older state format");
        return ARBITER_E_INVALID_STATE;
    }
    if (envelope.payload_length != 12) {
        arbiter_error_set(error, "bad payload");
        return ARBITER_E_INVALID_STATE;
    }
    *out = calloc(1, sizeof **out);
    (*out)->arms = (uint32_t)arbiter_read_le(envelope.payload, 4);
    (*out)->learned = arbiter_read_le(envelope.payload + 4, 8);
    return ARBITER_OK;
}

ARBITER_EXPORT arbiter_status ENTRY(const arbiter_host_api *host, arbiter_strategy_vtable *vtable,
                                    arbiter_error *error) {
    (void)host;
    (void)error;
    arbiter_strategy_vtable full = {0};
    full.abi_major = FIXTURE_VTABLE_MAJOR;
    full.abi_minor = FIXTURE_VTABLE_MINOR;
    full.language = FIXTURE_LANGUAGE;
    full.toolchain = FIXTURE_TOOLCHAIN;
    full.describe = fixture_describe;
    full.create = fixture_create;
    full.destroy = fixture_destroy;
    full.arm_count = fixture_arm_count;
    full.add_arms = fixture_add_arms;
    full.select = fixture_select;
    full.update = fixture_update;
    full.serialize = fixture_serialize;
    full.deserialize = fixture_deserialize;
#ifdef FIXTURE_ABI_1_0
    uint32_t own = (uint32_t)ARBITER_VTABLE_SIZE_1_0;
#else
    full.probabilities = fixture_probabilities;
    uint32_t own = (uint32_t)sizeof full;
#endif
    uint32_t size = vtable->struct_size < own ? vtable->struct_size : own;
    full.struct_size = size;
    memcpy(vtable, &full, size);
    return ARBITER_OK;
}
