/*
 * softmax.c: a Boltzmann (softmax) exploration strategy for Arbiter, written in
 * plain C against nothing but arbiter_strategy.h. It is the example a third
 * party starts from; see README.md for how to build and load it.
 *
 * A decision picks eligible arm i with probability
 *     exp(mean_i / temperature) / sum_j exp(mean_j / temperature)
 * so its propensity is exact. Rewards are any finite numbers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter_strategy.h"

#define SOFTMAX_NAME "softmax"
#define SOFTMAX_STATE_FORMAT 1
#define SOFTMAX_MAX_ARMS 1000000u

/* ---- Instance ---------------------------------------------------------- */

typedef struct arm_estimate {
    double weight; /* feedback weight seen */
    double mean;   /* weighted mean reward */
} arm_estimate;

struct arbiter_instance {
    double temperature;
    double initial_value;
    uint32_t arm_count;
    arm_estimate *arms;
    double *scratch; /* probabilities of one decision, arm_count entries */
};

static double estimate(const struct arbiter_instance *s, uint32_t arm) {
    return s->arms[arm].weight > 0 ? s->arms[arm].mean : s->initial_value;
}

/* ---- Seeded randomness: SplitMix64 -------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unit_interval(uint64_t *state) {
    return (double)(splitmix64(state) >> 11) * 0x1.0p-53;
}

/* ---- Configuration: a flat JSON object of numbers ----------------------- */

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* Parses {"temperature": 0.1, "initial_value": 0}; any other key, a value
 * that is not a finite number, or a temperature <= 0 is refused. */
static arbiter_status parse_config(const char *json, double *temperature, double *initial_value,
                                   arbiter_error *error) {
    char message[160];
    *temperature = 0.1;
    *initial_value = 0;
    const char *p = skip_space(json ? json : "");
    if (*p == '\0') return ARBITER_OK;
    if (*p++ != '{') {
        arbiter_error_set(error, "configuration must be a JSON object");
        return ARBITER_E_INVALID_CONFIG;
    }
    p = skip_space(p);
    if (*p == '}') return ARBITER_OK;
    for (;;) {
        char key[32];
        size_t length = 0;
        if (*p++ != '"') goto malformed;
        while (*p && *p != '"' && length + 1 < sizeof key) key[length++] = *p++;
        key[length] = '\0';
        if (*p++ != '"') goto malformed;
        p = skip_space(p);
        if (*p++ != ':') goto malformed;
        char *end = NULL;
        double value = strtod(skip_space(p), &end);
        if (end == skip_space(p) || !isfinite(value)) {
            snprintf(message, sizeof message, "parameter '%s' must be a finite number", key);
            arbiter_error_set(error, message);
            return ARBITER_E_INVALID_CONFIG;
        }
        p = skip_space(end);
        if (strcmp(key, "temperature") == 0) {
            if (!(value > 0)) {
                snprintf(message, sizeof message, "parameter 'temperature' must be > 0, got %g", value);
                arbiter_error_set(error, message);
                return ARBITER_E_INVALID_CONFIG;
            }
            *temperature = value;
        } else if (strcmp(key, "initial_value") == 0) {
            *initial_value = value;
        } else {
            snprintf(message, sizeof message,
                     "unknown parameter '%s'; this strategy takes: temperature, initial_value", key);
            arbiter_error_set(error, message);
            return ARBITER_E_INVALID_CONFIG;
        }
        if (*p == ',') { p = skip_space(p + 1); continue; }
        if (*p == '}' && *skip_space(p + 1) == '\0') return ARBITER_OK;
        goto malformed;
    }
malformed:
    arbiter_error_set(error, "configuration must be a JSON object of numbers, e.g. {\"temperature\": 0.1}");
    return ARBITER_E_INVALID_CONFIG;
}

static struct arbiter_instance *new_instance(double temperature, double initial_value, uint32_t arms) {
    struct arbiter_instance *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->temperature = temperature;
    s->initial_value = initial_value;
    s->arm_count = arms;
    s->arms = calloc(arms, sizeof *s->arms);
    s->scratch = calloc(arms, sizeof *s->scratch);
    if (!s->arms || !s->scratch) {
        free(s->arms);
        free(s->scratch);
        free(s);
        return NULL;
    }
    return s;
}

/* ---- The vtable functions ---------------------------------------------- */

static arbiter_status softmax_describe(void *plugin, arbiter_strategy_info *info, arbiter_error *error) {
    (void)plugin;
    (void)error;
    arbiter_strategy_info full = {0};
    full.state_format_version = SOFTMAX_STATE_FORMAT;
    full.name = SOFTMAX_NAME;
    full.version = "1.1.0"; /* 1.1.0: probabilities (ABI 1.1) */
    full.summary = "Boltzmann (softmax) exploration over mean rewards; an example plugin in C.";
    full.parameters_json =
        "{\"parameters\":["
        "{\"name\":\"temperature\",\"type\":\"number\",\"default\":0.1,\"exclusive_minimum\":0,"
        "\"summary\":\"Lower is greedier.\"},"
        "{\"name\":\"initial_value\",\"type\":\"number\",\"default\":0,"
        "\"summary\":\"Estimate of an arm without feedback.\"}],"
        "\"propensity\":\"Exact: the softmax probability of the chosen arm.\"}";
    full.reward_min = -INFINITY;
    full.reward_max = INFINITY;
    /* Write only what the host's struct has room for (growth rule). */
    uint32_t size = info->struct_size < sizeof full ? info->struct_size : (uint32_t)sizeof full;
    memcpy(info, &full, size);
    info->struct_size = size;
    return ARBITER_OK;
}

static arbiter_status softmax_create(void *plugin, const char *config_json, uint32_t arm_count,
                                     arbiter_instance **instance, arbiter_error *error) {
    (void)plugin;
    double temperature, initial_value;
    arbiter_status status = parse_config(config_json, &temperature, &initial_value, error);
    if (status != ARBITER_OK) return status;
    if (arm_count < 1 || arm_count > SOFTMAX_MAX_ARMS) {
        arbiter_error_set(error, "arm count must be between 1 and 1000000");
        return ARBITER_E_INVALID_ARGUMENT;
    }
    *instance = new_instance(temperature, initial_value, arm_count);
    if (!*instance) {
        arbiter_error_set(error, "out of memory");
        return ARBITER_E_INTERNAL;
    }
    return ARBITER_OK;
}

static void softmax_destroy(arbiter_instance *s) {
    if (!s) return;
    free(s->arms);
    free(s->scratch);
    free(s);
}

static uint32_t softmax_arm_count(const arbiter_instance *s) { return s->arm_count; }

static arbiter_status softmax_add_arms(arbiter_instance *s, uint32_t count, arbiter_error *error) {
    if (count < 1 || count > SOFTMAX_MAX_ARMS - s->arm_count) {
        arbiter_error_set(error, "cannot add that many arms");
        return ARBITER_E_INVALID_ARGUMENT;
    }
    uint32_t total = s->arm_count + count;
    arm_estimate *arms = realloc(s->arms, total * sizeof *arms);
    if (!arms) goto oom;
    s->arms = arms;
    double *scratch = realloc(s->scratch, total * sizeof *scratch);
    if (!scratch) goto oom;
    s->scratch = scratch;
    memset(s->arms + s->arm_count, 0, count * sizeof *arms);
    s->arm_count = total;
    return ARBITER_OK;
oom:
    arbiter_error_set(error, "out of memory");
    return ARBITER_E_INTERNAL;
}

static arbiter_status softmax_select(arbiter_instance *s, const arbiter_select_request *request,
                                     arbiter_selection *selection, arbiter_error *error) {
    if (request->eligible_count < 1 || request->eligible_arms == NULL) {
        arbiter_error_set(error, "a decision needs at least one eligible arm");
        return ARBITER_E_INVALID_ARGUMENT;
    }
    double best = -INFINITY;
    for (uint32_t i = 0; i < request->eligible_count; i++) {
        uint32_t arm = request->eligible_arms[i];
        if (arm >= s->arm_count) {
            arbiter_error_set(error, "eligible arm does not exist");
            return ARBITER_E_INVALID_ARGUMENT;
        }
        double value = estimate(s, arm);
        if (selection->scores) selection->scores[i] = value;
        if (value > best) best = value;
    }
    /* Probabilities, shifted by the best value so that exp() cannot overflow. */
    double total = 0;
    for (uint32_t i = 0; i < request->eligible_count; i++) {
        s->scratch[i] = exp((estimate(s, request->eligible_arms[i]) - best) / s->temperature);
        total += s->scratch[i];
    }
    uint64_t rng = request->seed;
    double target = unit_interval(&rng) * total;
    uint32_t chosen = request->eligible_count - 1;
    double cumulative = 0;
    for (uint32_t i = 0; i < request->eligible_count; i++) {
        cumulative += s->scratch[i];
        if (target < cumulative) {
            chosen = i;
            break;
        }
    }
    selection->arm = request->eligible_arms[chosen];
    selection->propensity = s->scratch[chosen] / total;
    return ARBITER_OK;
}

/* ABI 1.1: the probability of each eligible arm, the same softmax select()
 * draws from, written into probabilities[i] for eligible_arms[i]. */
static arbiter_status softmax_probabilities(arbiter_instance *s, const arbiter_select_request *request,
                                            double *probabilities, arbiter_error *error) {
    if (request->eligible_count < 1 || request->eligible_arms == NULL) {
        arbiter_error_set(error, "a decision needs at least one eligible arm");
        return ARBITER_E_INVALID_ARGUMENT;
    }
    double best = -INFINITY;
    for (uint32_t i = 0; i < request->eligible_count; i++) {
        if (request->eligible_arms[i] >= s->arm_count) {
            arbiter_error_set(error, "eligible arm does not exist");
            return ARBITER_E_INVALID_ARGUMENT;
        }
        double value = estimate(s, request->eligible_arms[i]);
        if (value > best) best = value;
    }
    double total = 0;
    for (uint32_t i = 0; i < request->eligible_count; i++) {
        probabilities[i] = exp((estimate(s, request->eligible_arms[i]) - best) / s->temperature);
        total += probabilities[i];
    }
    for (uint32_t i = 0; i < request->eligible_count; i++) probabilities[i] /= total;
    return ARBITER_OK;
}

static arbiter_status softmax_update(arbiter_instance *s, const arbiter_update_record *records, uint64_t count,
                                     arbiter_error *error) {
    char message[128];
    /* Validate everything first: an update is all-or-nothing. */
    for (uint64_t i = 0; i < count; i++) {
        if (records[i].arm >= s->arm_count || !isfinite(records[i].reward) ||
            !isfinite(records[i].weight) || records[i].weight < 0) {
            snprintf(message, sizeof message, "record %llu: unknown arm, non-finite reward or invalid weight",
                     (unsigned long long)i);
            arbiter_error_set(error, message);
            return ARBITER_E_INVALID_ARGUMENT;
        }
    }
    for (uint64_t i = 0; i < count; i++) {
        arm_estimate *arm = &s->arms[records[i].arm];
        if (records[i].weight == 0) continue;
        arm->weight += records[i].weight;
        arm->mean += records[i].weight * (records[i].reward - arm->mean) / arm->weight;
    }
    return ARBITER_OK;
}

/* Payload: u32 arm count, then weight and mean of each arm as IEEE-754 doubles. */
static arbiter_status softmax_serialize(const arbiter_instance *s, uint8_t *buffer, uint64_t capacity,
                                        uint64_t *length, arbiter_error *error) {
    uint64_t payload = 4 + (uint64_t)s->arm_count * 16;
    uint64_t total = ARBITER_ENVELOPE_FIXED_SIZE + strlen(SOFTMAX_NAME) + payload;
    *length = total;
    if (buffer == NULL || capacity < total) {
        arbiter_error_set(error, "buffer too small");
        return ARBITER_E_BUFFER_TOO_SMALL;
    }
    uint8_t *p = buffer + arbiter_envelope_write_header(buffer, SOFTMAX_NAME, SOFTMAX_STATE_FORMAT, payload);
    arbiter_write_le(p, s->arm_count, 4);
    p += 4;
    for (uint32_t i = 0; i < s->arm_count; i++) {
        uint64_t bits;
        memcpy(&bits, &s->arms[i].weight, 8);
        arbiter_write_le(p, bits, 8);
        memcpy(&bits, &s->arms[i].mean, 8);
        arbiter_write_le(p + 8, bits, 8);
        p += 16;
    }
    return ARBITER_OK;
}

static arbiter_status softmax_deserialize(void *plugin, const char *config_json, const uint8_t *bytes,
                                          uint64_t length, arbiter_instance **instance, arbiter_error *error) {
    (void)plugin;
    arbiter_envelope envelope;
    arbiter_status status = arbiter_envelope_parse(bytes, length, &envelope, error);
    if (status != ARBITER_OK) return status;
    if (envelope.name_length != strlen(SOFTMAX_NAME) || memcmp(envelope.name, SOFTMAX_NAME, envelope.name_length) != 0) {
        arbiter_error_set(error, "state belongs to another strategy");
        return ARBITER_E_INVALID_STATE;
    }
    if (envelope.state_format_version < 1 || envelope.state_format_version > SOFTMAX_STATE_FORMAT) {
        arbiter_error_set(error, "state format version is not readable by this plugin");
        return ARBITER_E_INVALID_STATE;
    }
    if (envelope.payload_length < 4) goto malformed;
    uint32_t arms = (uint32_t)arbiter_read_le(envelope.payload, 4);
    if (arms < 1 || arms > SOFTMAX_MAX_ARMS || envelope.payload_length != 4 + (uint64_t)arms * 16) goto malformed;
    double temperature, initial_value;
    status = parse_config(config_json, &temperature, &initial_value, error);
    if (status != ARBITER_OK) return status;
    struct arbiter_instance *s = new_instance(temperature, initial_value, arms);
    if (!s) {
        arbiter_error_set(error, "out of memory");
        return ARBITER_E_INTERNAL;
    }
    const uint8_t *p = envelope.payload + 4;
    for (uint32_t i = 0; i < arms; i++, p += 16) {
        uint64_t weight_bits = arbiter_read_le(p, 8), mean_bits = arbiter_read_le(p + 8, 8);
        memcpy(&s->arms[i].weight, &weight_bits, 8);
        memcpy(&s->arms[i].mean, &mean_bits, 8);
        if (!isfinite(s->arms[i].weight) || s->arms[i].weight < 0 || !isfinite(s->arms[i].mean)) {
            softmax_destroy(s);
            goto malformed;
        }
    }
    *instance = s;
    return ARBITER_OK;
malformed:
    arbiter_error_set(error, "state payload is malformed");
    return ARBITER_E_INVALID_STATE;
}

/* Writes the JSON summary into `out` (NULL to measure); returns its length. */
static uint64_t write_summary(const arbiter_instance *s, char *out, uint64_t room) {
    uint64_t used = 0;
#define APPEND(...) used += (uint64_t)snprintf(out ? out + used : NULL, out ? room - used : 0, __VA_ARGS__)
    APPEND("{\"arms\":[");
    for (uint32_t i = 0; i < s->arm_count; i++) {
        APPEND("%s{\"arm\":%u,\"weight\":%.17g,\"mean\":%.17g}", i ? "," : "", i, s->arms[i].weight,
               estimate(s, i));
    }
    APPEND("]}");
#undef APPEND
    return used;
}

static arbiter_status softmax_inspect(const arbiter_instance *s, char *buffer, uint64_t capacity, uint64_t *length,
                                      arbiter_error *error) {
    uint64_t needed = write_summary(s, NULL, 0);
    *length = needed;
    if (buffer == NULL || capacity < needed) {
        arbiter_error_set(error, "buffer too small");
        return ARBITER_E_BUFFER_TOO_SMALL;
    }
    /* snprintf always ends with a NUL, which the host's buffer need not hold. */
    char *text = malloc(needed + 1);
    if (!text) {
        arbiter_error_set(error, "out of memory");
        return ARBITER_E_INTERNAL;
    }
    write_summary(s, text, needed + 1);
    memcpy(buffer, text, needed);
    free(text);
    return ARBITER_OK;
}

/* ---- The one exported symbol ------------------------------------------- */

ARBITER_EXPORT arbiter_status arbiter_strategy_entry_v1(const arbiter_host_api *host, arbiter_strategy_vtable *vtable,
                                                        arbiter_error *error) {
    if (host == NULL || vtable == NULL) {
        arbiter_error_set(error, "entry needs a host API and a vtable");
        return ARBITER_E_INVALID_ARGUMENT;
    }
    arbiter_strategy_vtable full = {0};
    full.abi_major = ARBITER_ABI_MAJOR;
    full.abi_minor = ARBITER_ABI_MINOR;
    full.language = ARBITER_LANGUAGE_C;
#ifdef __VERSION__
    full.toolchain = "C " __VERSION__;
#else
    full.toolchain = "C";
#endif
    full.describe = softmax_describe;
    full.create = softmax_create;
    full.destroy = softmax_destroy;
    full.arm_count = softmax_arm_count;
    full.add_arms = softmax_add_arms;
    full.select = softmax_select;
    full.select_batch = NULL; /* optional: the host loops over select() */
    full.update = softmax_update;
    full.serialize = softmax_serialize;
    full.deserialize = softmax_deserialize;
    full.inspect = softmax_inspect;
    full.probabilities = softmax_probabilities; /* ABI 1.1 */
    uint32_t size = vtable->struct_size < sizeof full ? vtable->struct_size : (uint32_t)sizeof full;
    full.struct_size = size;
    memcpy(vtable, &full, size);
    if (host->log) host->log(host->context, ARBITER_LOG_DEBUG, "softmax example plugin ready");
    return ARBITER_OK;
}
