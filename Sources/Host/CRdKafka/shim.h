#ifndef ARBITER_CRDKAFKA_SHIM_H
#define ARBITER_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>

/* Macros and variadic calls Swift cannot import. */
static inline int64_t crdkafka_offset_invalid(void) { return RD_KAFKA_OFFSET_INVALID; }
static inline int64_t crdkafka_offset_beginning(void) { return RD_KAFKA_OFFSET_BEGINNING; }
static inline int32_t crdkafka_partition_ua(void) { return RD_KAFKA_PARTITION_UA; }

/* rd_kafka_producev is variadic: a fixed form for one message to a topic. */
static inline rd_kafka_resp_err_t crdkafka_produce(rd_kafka_t *rk, const char *topic, const void *payload, size_t length,
                                                   const void *key, size_t key_length) {
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)payload, length),
                             RD_KAFKA_V_KEY((void *)key, key_length), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END);
}

#endif
