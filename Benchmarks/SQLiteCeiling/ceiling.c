/*
 * The SQLite bulk-insert ceiling for rows comparable to Arbiter's learning
 * events: the same table and unique index as the schema, one prepared
 * statement, transactions of --batch rows, WAL mode, synchronous NORMAL or
 * FULL. Arbiter's durable ingestion is measured against this figure on the
 * same machine in the same run (scripts/bench ingest).
 *
 *   cc -O2 -o ceiling ceiling.c -lsqlite3
 *   ./ceiling <database file> <rows> <batch> <normal|full>
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s <database> <rows> <batch> <normal|full>\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    long rows = atol(argv[2]);
    long batch = atol(argv[3]);
    const char *sync = strcmp(argv[4], "full") == 0 ? "FULL" : "NORMAL";
    remove(path);
    sqlite3 *db;
    check(sqlite3_open(path, &db), db, "open");
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous = %s", sync);
    check(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL), db, "wal");
    check(sqlite3_exec(db, pragma, NULL, NULL, NULL), db, "synchronous");
    check(sqlite3_exec(db,
                       "CREATE TABLE learning_events (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, "
                       "event_id TEXT NOT NULL, decision_id INTEGER NOT NULL, strategy_id INTEGER NOT NULL, "
                       "arm INTEGER NOT NULL, reward REAL NOT NULL, weight REAL NOT NULL, created_at INTEGER NOT NULL);"
                       "CREATE UNIQUE INDEX learning_events_by_event_id ON learning_events (tenant_id, event_id);",
                       NULL, NULL, NULL),
          db, "schema");
    sqlite3_stmt *insert;
    check(sqlite3_prepare_v2(db,
                             "INSERT INTO learning_events (tenant_id, event_id, decision_id, strategy_id, arm, reward, "
                             "weight, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, event_id) DO NOTHING",
                             -1, &insert, NULL),
          db, "prepare");
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char event_id[64];
    for (long done = 0; done < rows;) {
        check(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
        for (long i = 0; i < batch && done < rows; i++, done++) {
            snprintf(event_id, sizeof event_id, "run1234567-%ld", done);
            sqlite3_bind_int64(insert, 1, 1);
            sqlite3_bind_text(insert, 2, event_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(insert, 3, ((sqlite3_int64)1 << 40) + done);
            sqlite3_bind_int64(insert, 4, 1);
            sqlite3_bind_int64(insert, 5, done % 10);
            sqlite3_bind_double(insert, 6, (double)(done & 1));
            sqlite3_bind_double(insert, 7, 1.0);
            sqlite3_bind_int64(insert, 8, 1764000000000 + done);
            check(sqlite3_step(insert), db, "insert");
            sqlite3_reset(insert);
        }
        check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("sqlite ceiling: %ld rows in %.3f s = %.0f rows/s (batches of %ld, synchronous %s, SQLite %s)\n", rows, seconds,
           rows / seconds, batch, sync, sqlite3_libversion());
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return 0;
}
