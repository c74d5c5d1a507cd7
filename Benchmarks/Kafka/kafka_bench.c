/* The Kafka benchmark's helper, in C against librdkafka (scripts/bench kafka-consume):
 *
 *   kafka_bench mock ADDRESS_FILE TOPIC PARTITIONS
 *       runs librdkafka's mock cluster with TOPIC of PARTITIONS partitions, writes its
 *       bootstrap address to ADDRESS_FILE, and serves until SIGTERM;
 *   kafka_bench produce BROKERS TOPIC DECISIONS_FILE COUNT [RATE [PREFIX]]
 *       produces COUNT feedback messages (lz4-compressed batches) for the decision ids of
 *       DECISIONS_FILE (one per line), as fast as it can or RATE messages a second (0: as
 *       fast), their event ids PREFIX-0, PREFIX-1, ... (PREFIX: bench);
 *   kafka_bench consume BROKERS TOPIC COUNT GROUP [latest] [server-properties]
 *       librdkafka's own consume rate: reads COUNT messages in consumer group GROUP from
 *       the earliest offsets (or only new ones: latest) and prints messages per second,
 *       from the first to the last, and the p50 and p99 of the time from each message's
 *       production (CreateTime) to its consumption. With server-properties, librdkafka
 *       is configured for fetching as the server configures it (queued.min.messages
 *       1,000,000; KafkaClient.swift); without, librdkafka's defaults.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void stop(int signal) { (void)signal; stopping = 1; }

static int ascending(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long wall_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char error[512];
    if (rd_kafka_conf_set(conf, name, value, error, sizeof error) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s=%s: %s\n", name, value, error);
        exit(2);
    }
}

static rd_kafka_t *client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char error[512];
    rd_kafka_t *handle = rd_kafka_new(type, conf, error, sizeof error);
    if (!handle) { fprintf(stderr, "rd_kafka_new: %s\n", error); exit(2); }
    return handle;
}

static int mock(const char *path, const char *topic, int partitions) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *owner = client(RD_KAFKA_PRODUCER, conf);
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(owner, 1);
    if (!cluster) { fprintf(stderr, "the mock cluster did not start\n"); return 2; }
    if (rd_kafka_mock_topic_create(cluster, topic, partitions, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "cannot create topic %s\n", topic);
        return 2;
    }
    char partial[4096];
    snprintf(partial, sizeof partial, "%s.partial", path);
    FILE *out = fopen(partial, "w");
    if (!out) { perror(partial); return 2; }
    fprintf(out, "%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fclose(out);
    rename(partial, path);
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    while (!stopping) usleep(100000);
    /* No orderly teardown: clients may still be connected, and the data dies with the process anyway. */
    _exit(0);
}

static int produce(const char *brokers, const char *topic, const char *decisions, long count, double rate, const char *prefix) {
    FILE *in = fopen(decisions, "r");
    if (!in) { perror(decisions); return 2; }
    char **ids = NULL;
    long n = 0, capacity = 0;
    char line[128];
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line) continue;
        if (n == capacity) { capacity = capacity ? capacity * 2 : 1024; ids = realloc(ids, capacity * sizeof *ids); }
        ids[n++] = strdup(line);
    }
    fclose(in);
    if (n == 0) { fprintf(stderr, "no decision ids in %s\n", decisions); return 2; }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", brokers);
    set(conf, "compression.codec", "lz4");
    set(conf, "linger.ms", rate > 0 ? "5" : "50");
    set(conf, "batch.num.messages", "10000");
    set(conf, "queue.buffering.max.messages", "1000000");
    set(conf, "queue.buffering.max.kbytes", "1048576");
    rd_kafka_t *producer = client(RD_KAFKA_PRODUCER, conf);
    double started = now();
    char key[32], value[256];
    for (long i = 0; i < count; i++) {
        if (rate > 0) {
            double due = started + i / rate;
            double wait = due - now();
            if (wait > 0) usleep((useconds_t)(wait * 1e6));
        }
        int keyLength = snprintf(key, sizeof key, "%ld", i);
        int length = snprintf(value, sizeof value, "{\"event_id\": \"%s-%ld\", \"decision_id\": \"%s\", \"reward\": %d}",
                              prefix, i, ids[i % n], (int)(i % 3 == 0));
        while (1) {
            rd_kafka_resp_err_t error = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keyLength),
                                                          RD_KAFKA_V_VALUE(value, length), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                          RD_KAFKA_V_END);
            if (error == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) { fprintf(stderr, "produce: %s\n", rd_kafka_err2str(error)); return 2; }
            rd_kafka_poll(producer, 10);
        }
        rd_kafka_poll(producer, 0);
    }
    rd_kafka_flush(producer, 120000);
    double seconds = now() - started;
    printf("produced %ld messages in %.2f s: %.0f messages/s\n", count, seconds, count / seconds);
    rd_kafka_destroy(producer);
    return 0;
}

static int consume(const char *brokers, const char *topic, long count, const char *group, int latest, int serverProperties) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", brokers);
    set(conf, "group.id", group);
    set(conf, "auto.offset.reset", latest ? "latest" : "earliest");
    /* The mock broker answers a fetch with no data only after this long, even when data comes meanwhile. */
    set(conf, "fetch.wait.max.ms", "5");
    set(conf, "enable.auto.commit", "false");
    /* What the server sets: without it, librdkafka stops fetching a partition at 100,000 queued messages and resumes late. */
    if (serverProperties) set(conf, "queued.min.messages", "1000000");
    rd_kafka_t *consumer = client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    if (latest) {
        /* Every partition assigned at its end at once: no group join to wait for. */
        const struct rd_kafka_metadata *metadata = NULL;
        rd_kafka_topic_t *handle = rd_kafka_topic_new(consumer, topic, NULL);
        if (rd_kafka_metadata(consumer, 0, handle, &metadata, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || metadata->topic_cnt < 1) {
            fprintf(stderr, "no metadata for %s\n", topic);
            return 2;
        }
        for (int p = 0; p < metadata->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(topics, topic, metadata->topics[0].partitions[p].id)->offset = RD_KAFKA_OFFSET_END;
        rd_kafka_metadata_destroy(metadata);
        rd_kafka_topic_destroy(handle);
        rd_kafka_assign(consumer, topics);
        printf("ready\n");
        fflush(stdout);
    } else {
        rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(consumer, topics);
    }
    rd_kafka_topic_partition_list_destroy(topics);
    long seen = 0;
    size_t bytes = 0;
    long long *latencies = malloc(count * sizeof *latencies);
    double first = 0, last = 0, deadline = now() + 300;
    while (seen < count && now() < deadline) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 100);
        /* Reading only new messages, it ends when they stop coming for 3 s. */
        if (latest && seen > 0 && now() - last > 3) break;
        if (!message) continue;
        if (!message->err) {
            if (seen == 0) first = now();
            rd_kafka_timestamp_type_t kind;
            long long produced = rd_kafka_message_timestamp(message, &kind);
            latencies[seen] = produced >= 0 ? wall_ms() - produced : 0;
            seen++;
            bytes += message->len;
            last = now();
        }
        rd_kafka_message_destroy(message);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    if (seen == 0 || (seen < count && !latest)) { fprintf(stderr, "consumed %ld of %ld messages in 300 s\n", seen, count); return 1; }
    qsort(latencies, seen, sizeof *latencies, ascending);
    printf("librdkafka (%s) consumed %ld messages (%.1f MB) in %.2f s: %.0f messages/s; production to consumption p50 %lld ms, p99 %lld ms\n",
           serverProperties ? "fetching as the server does" : "its defaults", seen, bytes / 1e6, last - first, seen / (last - first), latencies[seen / 2], latencies[seen * 99 / 100]);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 5 && !strcmp(argv[1], "mock")) return mock(argv[2], argv[3], atoi(argv[4]));
    if (argc >= 6 && !strcmp(argv[1], "produce")) return produce(argv[2], argv[3], argv[4], atol(argv[5]), argc > 6 ? atof(argv[6]) : 0, argc > 7 ? argv[7] : "bench");
    if (argc >= 6 && !strcmp(argv[1], "consume")) {
        int latest = 0, serverProperties = 0;
        for (int i = 6; i < argc; i++) {
            if (!strcmp(argv[i], "latest")) latest = 1;
            else if (!strcmp(argv[i], "server-properties")) serverProperties = 1;
            else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
        }
        return consume(argv[2], argv[3], atol(argv[4]), argv[5], latest, serverProperties);
    }
    fprintf(stderr, "usage: see the opening comment of kafka_bench.c\n");
    return 2;
}
