#include "agent_store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wall_time.h"

enum {
    BATCH_RECORDS = 1024,   /* the writer hands slots back to the puts at least this often */
    COMMIT_RECORDS = 65536, /* a busy writer commits after this many records ... */
    MIN_DEFAULT_QUEUE = 64,
    BUSY_TIMEOUT_MS = 5000,
    MESSAGE_CAPACITY = 1024,
    DIR_CAPACITY = 4096
};
static const double COMMIT_SECONDS = 0.2; /* ... or after this long */
static const size_t DEFAULT_QUEUE_BYTES = (size_t)256 << 20;

typedef enum { RECORD_DECISION, RECORD_FEEDBACK, RECORD_CONSUME } record_kind;

/* One queued record; a decision's context is in the contexts array at the
 * same slot. */
typedef struct {
    uint64_t event_id;
    double time;
    int64_t version;
    float value; /* propensity or reward */
    int action;
    record_kind kind;
} store_record;

/* The writer's statements, prepared once. */
typedef enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_INSERT_DECISION,
    Q_INSERT_FEEDBACK,
    Q_DELETE_DECISION,
    Q_DELETE_FEEDBACK,
    Q_DELETE_DECISIONS_THROUGH,
    Q_DELETE_FEEDBACK_THROUGH,
    Q_NTH_OLDEST,
    Q_FIRST_YOUNG,
    Q_SET_LAST_ID,
    Q_SAVE_MODEL,
    Q_COUNT
} writer_query;

static const char *const WRITER_SQL[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_INSERT_DECISION] = "INSERT OR IGNORE INTO decisions(id, time, version, action, propensity, context) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_INSERT_FEEDBACK] = "INSERT OR IGNORE INTO feedback(event_id, reward, time) "
                          "SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM decisions WHERE id = ?1)",
    [Q_DELETE_DECISION] = "DELETE FROM decisions WHERE id = ?1",
    [Q_DELETE_FEEDBACK] = "DELETE FROM feedback WHERE event_id = ?1",
    [Q_DELETE_DECISIONS_THROUGH] = "DELETE FROM decisions WHERE id <= ?1",
    [Q_DELETE_FEEDBACK_THROUGH] = "DELETE FROM feedback WHERE event_id <= ?1",
    [Q_NTH_OLDEST] = "SELECT id FROM decisions ORDER BY id LIMIT 1 OFFSET ?1",
    [Q_FIRST_YOUNG] = "SELECT id FROM decisions WHERE time >= ?1 ORDER BY id LIMIT 1",
    [Q_SET_LAST_ID] = "UPDATE meta SET last_event_id = ?1 WHERE id = 1",
    [Q_SAVE_MODEL] = "INSERT OR REPLACE INTO model(id, version, params) VALUES (1, ?1, ?2)",
};

struct fcb_agent_store {
    char *path;
    int input_dim, num_actions;
    long max_rows;
    double max_age;
    sqlite3_uint64 max_blob_bytes;
    uint64_t open_last_event_id;

    /* Used by open, then only by the writer thread, then by close. */
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    long rows;              /* decisions in the file, this transaction included */
    uint64_t max_event_id;  /* the largest id written */
    uint64_t meta_event_id; /* what meta.last_event_id holds */

    /* scan, counts and load_model read committed rows through their own
     * connection (WAL lets it read while the writer writes). */
    sqlite3 *reader;
    pthread_mutex_t read_lock;

    /* Everything below is under lock. */
    pthread_mutex_t lock;
    pthread_cond_t work; /* to the writer: records, a model or stop */
    pthread_cond_t room; /* to puts: room in the queue, or the writer failed */
    pthread_cond_t done; /* to flush and save_model: a commit, or the writer failed */
    int sync_ready;
    store_record *ring;
    float *contexts; /* capacity x input_dim */
    int capacity, head, count;
    uint64_t enqueued, applied, committed; /* records */
    int writer_idle, room_waiters, flush_waiters, stopping;
    _Atomic uint64_t waits;
    int model_pending;     /* a save_model waits for the writer */
    uint64_t model_target; /* records enqueued before it */
    uint64_t models_requested, models_saved;
    int64_t model_version;
    const float *model_params;
    size_t model_n;
    fcb_status error; /* the writer's, sticky */
    char error_message[MESSAGE_CAPACITY];
    pthread_t writer;
    int writer_started;
};

/* ---- errors ---- */

static void parent_dir(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, size, ".");
    else if (slash == path)
        snprintf(dir, size, "/");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* SQLite's message for db as one printable line: a damaged schema is quoted
 * in it byte for byte, newlines and all. */
static const char *sql_message(sqlite3 *db, char *out, size_t size)
{
    const char *message = sqlite3_errmsg(db);
    size_t n = 0;
    for (; message[n] && n + 1 < size; n++) {
        unsigned char c = (unsigned char)message[n];
        out[n] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    out[n] = '\0';
    return out;
}

/* SQLite only says "unable to open database file"; say why. */
static fcb_status cannot_open(const char *path, sqlite3 *db)
{
    char dir[DIR_CAPACITY];
    struct stat info;
    parent_dir(path, dir, sizeof dir);
    if (stat(dir, &info) != 0)
        return fcb_fail(FCB_ERR_IO, "store %s: directory %s does not exist", path, dir);
    if (!S_ISDIR(info.st_mode))
        return fcb_fail(FCB_ERR_IO, "store %s: %s is not a directory", path, dir);
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
        return fcb_fail(FCB_ERR_IO, "store %s is a directory", path);
    if (access(dir, W_OK) != 0)
        return fcb_fail(FCB_ERR_IO, "store %s: read-only location: cannot write in %s (%s)", path, dir,
                        strerror(errno));
    if (access(path, F_OK) == 0 && access(path, W_OK) != 0)
        return fcb_fail(FCB_ERR_IO, "store %s: read-only location: cannot write the file (%s)", path,
                        strerror(errno));
    char message[256];
    return fcb_fail(FCB_ERR_IO, "store %s: cannot open (%s)", path,
                    db ? sql_message(db, message, sizeof message) : "out of memory");
}

static fcb_status disk_full(const char *path, sqlite3 *db, int err, const char *what)
{
    char message[256];
    const char *why = err == EFBIG ? "file size limit reached"
                      : err == ENOSPC ? "no space left on device"
                                      : sql_message(db, message, sizeof message);
    return fcb_fail(FCB_ERR_IO, "store %s: disk full while %s (%s)", path, what, why);
}

/* The errno of the failed system call. SQLite keeps it per file and does
 * not always pass it to the connection (a failed WAL write at commit does
 * not), so the database file and its WAL are asked too. */
static int last_errno(sqlite3 *db)
{
    int err = db ? sqlite3_system_errno(db) : 0;
    if (err != 0 || !db)
        return err;
    sqlite3_file *journal = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &journal) == SQLITE_OK && journal &&
        journal->pMethods && journal->pMethods->xFileControl(journal, SQLITE_FCNTL_LAST_ERRNO, &err) == SQLITE_OK &&
        err != 0)
        return err;
    err = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_LAST_ERRNO, &err) != SQLITE_OK)
        err = 0;
    return err;
}

/* One line for a failed SQLite call on db; what says what we were doing. */
static fcb_status sql_fail(const char *path, sqlite3 *db, int rc, const char *what)
{
    char message[256];
    int err = last_errno(db);
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return fcb_fail(FCB_ERR_FORMAT, "store %s is not a SQLite database (corrupt or foreign file)", path);
    case SQLITE_CORRUPT:
        return fcb_fail(FCB_ERR_FORMAT, "store %s is corrupt (%s while %s)", path,
                        sql_message(db, message, sizeof message), what);
    case SQLITE_FULL:
        return disk_full(path, db, err, what);
    case SQLITE_CANTOPEN:
        return cannot_open(path, db);
    case SQLITE_READONLY:
        return fcb_fail(FCB_ERR_IO, "store %s: read-only location (%s while %s)", path,
                        sql_message(db, message, sizeof message), what);
    case SQLITE_NOMEM:
        return fcb_fail(FCB_ERR_NOMEM, "store %s: out of memory while %s", path, what);
    case SQLITE_IOERR:
        if (err == ENOSPC || err == EFBIG)
            return disk_full(path, db, err, what);
        break;
    default:
        break;
    }
    if (err != 0)
        return fcb_fail(FCB_ERR_IO, "store %s: %s while %s (%s)", path, sql_message(db, message, sizeof message),
                        what, strerror(err));
    return fcb_fail(FCB_ERR_IO, "store %s: %s while %s", path, sql_message(db, message, sizeof message), what);
}

/* Records the writer's failure (the message of this thread) for everyone;
 * lock held. */
static void writer_failed(fcb_agent_store *s, fcb_status code)
{
    s->error = code;
    snprintf(s->error_message, sizeof s->error_message, "%s", fcb_last_error());
    pthread_cond_broadcast(&s->room);
    pthread_cond_broadcast(&s->done);
}

/* The sticky error, recorded for the calling thread; lock held. */
static fcb_status sticky_error(const fcb_agent_store *s)
{
    return fcb_fail(s->error, "%s", s->error_message);
}

/* ---- small SQL helpers ---- */

static fcb_status exec_sql(const fcb_agent_store *s, sqlite3 *db, const char *sql, const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? FCB_OK : sql_fail(s->path, db, rc, what);
}

/* Steps a writer statement that returns no row and resets it. */
static fcb_status step_done(const fcb_agent_store *s, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? FCB_OK : sql_fail(s->path, s->db, rc, what);
}

/* The first column of the first row of sql as an integer. */
static fcb_status query_int(const fcb_agent_store *s, sqlite3 *db, const char *sql, sqlite3_int64 *value)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            *value = sqlite3_column_int64(q, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_OK ? FCB_OK : sql_fail(s->path, db, rc, sql);
}

/* ---- opening ---- */

static fcb_status check_options(const fcb_agent_store_options *o)
{
    if (!o || !o->path || !o->path[0])
        return fcb_fail(FCB_ERR_ARG, "agent store: NULL options or empty path");
    if (o->input_dim <= 0 || o->num_actions <= 0)
        return fcb_fail(FCB_ERR_ARG, "store %s: input_dim = %d and num_actions = %d must be > 0", o->path,
                        o->input_dim, o->num_actions);
    if (o->max_rows < 0)
        return fcb_fail(FCB_ERR_ARG, "store %s: max_rows = %ld must be >= 0", o->path, o->max_rows);
    if (!(o->max_age >= 0.0 && isfinite(o->max_age)))
        return fcb_fail(FCB_ERR_ARG, "store %s: max_age = %g must be finite and >= 0", o->path, o->max_age);
    if (o->queue_capacity < 0)
        return fcb_fail(FCB_ERR_ARG, "store %s: queue_capacity = %d must be >= 0", o->path, o->queue_capacity);
    return FCB_OK;
}

static fcb_status init_handle(fcb_agent_store *s, const fcb_agent_store_options *o)
{
    size_t len = strlen(o->path);
    s->path = malloc(len + 1);
    if (!s->path)
        return fcb_fail(FCB_ERR_NOMEM, "store %s: out of memory", o->path);
    memcpy(s->path, o->path, len + 1);
    s->input_dim = o->input_dim;
    s->num_actions = o->num_actions;
    s->max_rows = o->max_rows;
    s->max_age = o->max_age;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return fcb_fail(FCB_ERR_NOMEM, "store %s: cannot create a mutex", s->path);
    if (pthread_mutex_init(&s->read_lock, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        return fcb_fail(FCB_ERR_NOMEM, "store %s: cannot create a mutex", s->path);
    }
    if (pthread_cond_init(&s->work, NULL) != 0 || pthread_cond_init(&s->room, NULL) != 0 ||
        pthread_cond_init(&s->done, NULL) != 0)
        return fcb_fail(FCB_ERR_NOMEM, "store %s: cannot create a condition variable", s->path);
    s->sync_ready = 1;
    return FCB_OK;
}

/* Opens a connection used by one thread at a time (ours to guarantee). */
static fcb_status open_connection(const fcb_agent_store *s, int flags, sqlite3 **db)
{
    int rc = sqlite3_open_v2(s->path, db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
    if (rc != SQLITE_OK)
        return sql_fail(s->path, *db, rc, "opening");
    sqlite3_extended_result_codes(*db, 1);
    if (sqlite3_db_readonly(*db, "main") == 1)
        return fcb_fail(FCB_ERR_IO, "store %s: read-only location: the file cannot be written", s->path);
    sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
    return FCB_OK;
}

/* Refuses a file that is not ours before anything is written to it; *fresh
 * says it is empty (a new store). */
static fcb_status check_identity(const fcb_agent_store *s, int *fresh)
{
    sqlite3_int64 application = 0, version = 0, objects = 0;
    fcb_status st = query_int(s, s->db, "PRAGMA application_id", &application);
    if (st == FCB_OK)
        st = query_int(s, s->db, "PRAGMA user_version", &version);
    if (st == FCB_OK)
        st = query_int(s, s->db, "SELECT count(*) FROM sqlite_master", &objects);
    if (st != FCB_OK)
        return st;
    *fresh = application == 0 && version == 0 && objects == 0;
    if (*fresh)
        return FCB_OK;
    if (application != FCB_AGENT_STORE_APPLICATION_ID)
        return fcb_fail(FCB_ERR_FORMAT, "store %s was not written by fedcb (SQLite application_id 0x%08llx, "
                                        "fedcb's is 0x%08x)",
                        s->path, (unsigned long long)(uint32_t)application, FCB_AGENT_STORE_APPLICATION_ID);
    if (version > FCB_AGENT_STORE_SCHEMA_VERSION)
        return fcb_fail(FCB_ERR_FORMAT, "store %s has schema version %lld, newer than this fedcb reads (%d)",
                        s->path, (long long)version, FCB_AGENT_STORE_SCHEMA_VERSION);
    if (version < 1)
        return fcb_fail(FCB_ERR_FORMAT, "store %s has no schema version (damaged)", s->path);
    return FCB_OK;
}

static fcb_status create_schema(const fcb_agent_store *s)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1), input_dim INTEGER NOT NULL, "
             "num_actions INTEGER NOT NULL, last_event_id INTEGER NOT NULL);"
             "CREATE TABLE decisions(id INTEGER PRIMARY KEY, time REAL NOT NULL, version INTEGER NOT NULL, "
             "action INTEGER NOT NULL, propensity REAL NOT NULL, context BLOB NOT NULL);"
             "CREATE TABLE feedback(event_id INTEGER PRIMARY KEY, reward REAL NOT NULL, time REAL NOT NULL);"
             "CREATE TABLE model(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, "
             "params BLOB NOT NULL);"
             "INSERT INTO meta VALUES (1, %d, %d, 0);"
             "PRAGMA application_id = %d; PRAGMA user_version = %d;",
             s->input_dim, s->num_actions, FCB_AGENT_STORE_APPLICATION_ID, FCB_AGENT_STORE_SCHEMA_VERSION);
    return exec_sql(s, s->db, sql, "creating the tables");
}

static fcb_status read_meta(fcb_agent_store *s)
{
    const char *sql = "SELECT input_dim, num_actions, last_event_id, (SELECT count(*) FROM decisions), "
                      "(SELECT ifnull(max(id), 0) FROM decisions) FROM meta WHERE id = 1";
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (rc == SQLITE_DONE)
            return fcb_fail(FCB_ERR_FORMAT, "store %s has no meta row (damaged)", s->path);
        return sql_fail(s->path, s->db, rc, "reading the meta table");
    }
    sqlite3_int64 dim = sqlite3_column_int64(q, 0), actions = sqlite3_column_int64(q, 1);
    sqlite3_int64 last = sqlite3_column_int64(q, 2), largest = sqlite3_column_int64(q, 4);
    s->rows = (long)sqlite3_column_int64(q, 3);
    sqlite3_finalize(q);
    if (dim != s->input_dim || actions != s->num_actions)
        return fcb_fail(FCB_ERR_ARG, "store %s holds input_dim %lld and num_actions %lld, the options say "
                                     "input_dim %d and num_actions %d",
                        s->path, (long long)dim, (long long)actions, s->input_dim, s->num_actions);
    s->meta_event_id = last > 0 ? (uint64_t)last : 0;
    s->max_event_id = largest > last ? (uint64_t)largest : s->meta_event_id;
    s->open_last_event_id = s->max_event_id;
    return FCB_OK;
}

static fcb_status set_journal(const fcb_agent_store *s, int sync_full)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        return sql_fail(s->path, s->db, rc, "switching to WAL");
    }
    const unsigned char *mode = sqlite3_column_text(q, 0);
    int wal = mode && strcmp((const char *)mode, "wal") == 0;
    sqlite3_finalize(q);
    if (!wal)
        return fcb_fail(FCB_ERR_IO, "store %s: cannot use WAL journal mode (the file system may not support it)",
                        s->path);
    return exec_sql(s, s->db, sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                    "setting synchronous");
}

/* The identity is checked twice: before anything is written (a foreign
 * file stays untouched), and again inside the transaction that creates the
 * tables (another process may have created them meanwhile). */
static fcb_status open_schema(fcb_agent_store *s, int sync_full)
{
    int fresh = 0;
    fcb_status st = check_identity(s, &fresh);
    if (st == FCB_OK)
        st = set_journal(s, sync_full);
    if (st == FCB_OK)
        st = exec_sql(s, s->db, "BEGIN IMMEDIATE", "starting a transaction");
    if (st != FCB_OK)
        return st;
    st = check_identity(s, &fresh);
    if (st == FCB_OK && fresh)
        st = create_schema(s);
    if (st == FCB_OK)
        st = read_meta(s);
    if (st == FCB_OK)
        return exec_sql(s, s->db, "COMMIT", "creating the tables");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static fcb_status prepare_writer(fcb_agent_store *s)
{
    for (int i = 0; i < Q_COUNT; i++) {
        int rc = sqlite3_prepare_v3(s->db, WRITER_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);
        if (rc != SQLITE_OK)
            return sql_fail(s->path, s->db, rc, "preparing the writer's statements");
    }
    s->max_blob_bytes = (sqlite3_uint64)sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1);
    if ((sqlite3_uint64)s->input_dim * sizeof(float) > s->max_blob_bytes)
        return fcb_fail(FCB_ERR_ARG, "store %s: input_dim %d is beyond SQLite's blob limit of %llu bytes", s->path,
                        s->input_dim, (unsigned long long)s->max_blob_bytes);
    return FCB_OK;
}

static fcb_status allocate_queue(fcb_agent_store *s, int requested)
{
    size_t row_bytes = (size_t)s->input_dim * sizeof(float);
    size_t capacity = (size_t)requested;
    if (capacity == 0) {
        capacity = FCB_AGENT_STORE_DEFAULT_QUEUE;
        if (capacity > DEFAULT_QUEUE_BYTES / row_bytes)
            capacity = DEFAULT_QUEUE_BYTES / row_bytes;
        if (capacity < MIN_DEFAULT_QUEUE)
            capacity = MIN_DEFAULT_QUEUE;
    }
    if (capacity <= SIZE_MAX / row_bytes) {
        s->ring = malloc(capacity * sizeof *s->ring);
        s->contexts = malloc(capacity * row_bytes);
    }
    if (!s->ring || !s->contexts)
        return fcb_fail(FCB_ERR_NOMEM, "store %s: cannot allocate a write queue of %zu records of %d floats; "
                                       "lower the queue capacity",
                        s->path, capacity, s->input_dim);
    s->capacity = (int)capacity;
    return FCB_OK;
}

/* ---- the writer ---- */

static fcb_status write_decision(fcb_agent_store *s, const store_record *r, const float *context)
{
    sqlite3_stmt *q = s->q[Q_INSERT_DECISION];
    int rc = sqlite3_bind_int64(q, 1, (sqlite3_int64)r->event_id) | sqlite3_bind_double(q, 2, r->time) |
             sqlite3_bind_int64(q, 3, r->version) | sqlite3_bind_int(q, 4, r->action) |
             sqlite3_bind_double(q, 5, r->value) |
             sqlite3_bind_blob(q, 6, context, s->input_dim * (int)sizeof(float), SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return sql_fail(s->path, s->db, rc, "binding a decision");
    fcb_status st = step_done(s, q, "inserting a decision");
    if (st != FCB_OK)
        return st;
    s->rows += sqlite3_changes(s->db);
    if (r->event_id > s->max_event_id)
        s->max_event_id = r->event_id;
    return FCB_OK;
}

static fcb_status write_feedback(fcb_agent_store *s, const store_record *r)
{
    sqlite3_stmt *q = s->q[Q_INSERT_FEEDBACK];
    int rc = sqlite3_bind_int64(q, 1, (sqlite3_int64)r->event_id) | sqlite3_bind_double(q, 2, r->value) |
             sqlite3_bind_double(q, 3, r->time);
    if (rc != SQLITE_OK)
        return sql_fail(s->path, s->db, rc, "binding feedback");
    return step_done(s, q, "inserting feedback");
}

static fcb_status write_consume(fcb_agent_store *s, const store_record *r)
{
    sqlite3_stmt *decision = s->q[Q_DELETE_DECISION], *feedback = s->q[Q_DELETE_FEEDBACK];
    int rc = sqlite3_bind_int64(decision, 1, (sqlite3_int64)r->event_id) |
             sqlite3_bind_int64(feedback, 1, (sqlite3_int64)r->event_id);
    if (rc != SQLITE_OK)
        return sql_fail(s->path, s->db, rc, "binding a consumed event");
    fcb_status st = step_done(s, decision, "deleting a consumed decision");
    if (st != FCB_OK)
        return st;
    s->rows -= sqlite3_changes(s->db);
    return step_done(s, feedback, "deleting consumed feedback");
}

/* Applies the n records from slot first on; they stay in the ring (the
 * contexts are bound in place) until the writer hands the slots back. */
static fcb_status write_records(fcb_agent_store *s, int first, int n)
{
    fcb_status st = FCB_OK;
    for (int i = 0; i < n && st == FCB_OK; i++) {
        int slot = first + i < s->capacity ? first + i : first + i - s->capacity;
        const store_record *r = &s->ring[slot];
        if (r->kind == RECORD_DECISION)
            st = write_decision(s, r, s->contexts + (size_t)slot * (size_t)s->input_dim);
        else if (r->kind == RECORD_FEEDBACK)
            st = write_feedback(s, r);
        else
            st = write_consume(s, r);
    }
    return st;
}

/* The caller of save_model waits until it is committed, so its params can
 * be bound in place. */
static fcb_status write_model(fcb_agent_store *s)
{
    sqlite3_stmt *q = s->q[Q_SAVE_MODEL];
    int rc = sqlite3_bind_int64(q, 1, s->model_version) |
             sqlite3_bind_blob64(q, 2, s->model_params, (sqlite3_uint64)s->model_n * sizeof(float), SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return sql_fail(s->path, s->db, rc, "binding the model");
    return step_done(s, q, "saving the model");
}

/* Deletes the decisions with ids up to last, and their feedback. */
static fcb_status delete_through(fcb_agent_store *s, sqlite3_int64 last)
{
    sqlite3_stmt *feedback = s->q[Q_DELETE_FEEDBACK_THROUGH], *decisions = s->q[Q_DELETE_DECISIONS_THROUGH];
    int rc = sqlite3_bind_int64(feedback, 1, last) | sqlite3_bind_int64(decisions, 1, last);
    if (rc != SQLITE_OK)
        return sql_fail(s->path, s->db, rc, "binding a bound");
    fcb_status st = step_done(s, feedback, "deleting old feedback");
    if (st == FCB_OK)
        st = step_done(s, decisions, "deleting old decisions");
    if (st == FCB_OK)
        s->rows -= sqlite3_changes(s->db);
    return st;
}

/* The id in the first column of q's first row; *found 0 if no row. */
static fcb_status first_id(fcb_agent_store *s, sqlite3_stmt *q, sqlite3_int64 *id, int *found, const char *what)
{
    int rc = sqlite3_step(q);
    *found = rc == SQLITE_ROW;
    if (*found)
        *id = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(s->path, s->db, rc, what);
    return FCB_OK;
}

static fcb_status bound_rows(fcb_agent_store *s)
{
    if (s->max_rows == 0 || s->rows <= s->max_rows)
        return FCB_OK;
    sqlite3_stmt *q = s->q[Q_NTH_OLDEST];
    sqlite3_int64 last = 0;
    int found = 0;
    int rc = sqlite3_bind_int64(q, 1, (sqlite3_int64)(s->rows - s->max_rows - 1));
    if (rc != SQLITE_OK)
        return sql_fail(s->path, s->db, rc, "binding max_rows");
    fcb_status st = first_id(s, q, &last, &found, "finding the oldest decisions");
    if (st != FCB_OK || !found)
        return st;
    return delete_through(s, last);
}

/* Ids are issued in time order, so the old decisions are the ones before
 * the first young one, found without scanning the whole table. */
static fcb_status bound_age(fcb_agent_store *s)
{
    if (s->max_age == 0.0)
        return FCB_OK;
    sqlite3_stmt *q = s->q[Q_FIRST_YOUNG];
    sqlite3_int64 young = 0;
    int found = 0;
    int rc = sqlite3_bind_double(q, 1, fcb_epoch_seconds() - s->max_age);
    if (rc != SQLITE_OK)
        return sql_fail(s->path, s->db, rc, "binding max_age");
    fcb_status st = first_id(s, q, &young, &found, "finding old decisions");
    if (st != FCB_OK)
        return st;
    return delete_through(s, found ? young - 1 : INT64_MAX);
}

/* Bounds the store, records the largest id and commits. */
static fcb_status commit(fcb_agent_store *s)
{
    fcb_status st = bound_rows(s);
    if (st == FCB_OK)
        st = bound_age(s);
    if (st == FCB_OK && s->max_event_id > s->meta_event_id) {
        int rc = sqlite3_bind_int64(s->q[Q_SET_LAST_ID], 1, (sqlite3_int64)s->max_event_id);
        st = rc == SQLITE_OK ? step_done(s, s->q[Q_SET_LAST_ID], "recording the last event id")
                             : sql_fail(s->path, s->db, rc, "binding the last event id");
        if (st == FCB_OK)
            s->meta_event_id = s->max_event_id;
    }
    if (st == FCB_OK)
        st = step_done(s, s->q[Q_COMMIT], "committing");
    return st;
}

/* The bounds once at open, so that a scan sees a bounded store. */
static fcb_status bound_at_open(fcb_agent_store *s)
{
    if (s->max_rows == 0 && s->max_age == 0.0)
        return FCB_OK;
    fcb_status st = step_done(s, s->q[Q_BEGIN], "starting a transaction");
    if (st == FCB_OK)
        st = commit(s);
    if (st != FCB_OK && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* Drains the queue in batches: each batch is applied inside one open
 * transaction, committed when the queue ran empty, a flush or a model
 * waits, or the transaction grew big or old. On a failure the error is
 * published and the thread ends; puts then return it instead of waiting. */
static void *writer_main(void *arg)
{
    fcb_agent_store *s = arg;
    int in_transaction = 0;
    uint64_t transaction_records = 0;
    double transaction_start = 0.0;
    fcb_status st = FCB_OK;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->count == 0 && !s->model_pending && !s->stopping) {
            s->writer_idle = 1;
            pthread_cond_wait(&s->work, &s->lock);
            s->writer_idle = 0;
        }
        if (s->count == 0 && !s->model_pending)
            break;
        int first = s->head, n = s->count < BATCH_RECORDS ? s->count : BATCH_RECORDS;
        /* The model goes in after the records put before it. */
        int model = s->model_pending && s->applied + (uint64_t)n >= s->model_target;
        pthread_mutex_unlock(&s->lock);

        if (!in_transaction) {
            st = step_done(s, s->q[Q_BEGIN], "starting a transaction");
            in_transaction = st == FCB_OK;
            transaction_records = 0;
            transaction_start = fcb_wall_seconds();
        }
        if (st == FCB_OK)
            st = write_records(s, first, n);
        if (st == FCB_OK && model)
            st = write_model(s);
        transaction_records += (uint64_t)n;

        pthread_mutex_lock(&s->lock);
        if (st != FCB_OK)
            break;
        s->head = first + n < s->capacity ? first + n : first + n - s->capacity;
        s->count -= n;
        s->applied += (uint64_t)n;
        if (s->room_waiters > 0)
            pthread_cond_broadcast(&s->room);
        /* Records put before a model commit with it: a consume and the
         * model it led to are never split by a crash. */
        int holding = s->model_pending && !model;
        int commit_now = !holding && (s->count == 0 || s->flush_waiters > 0 || model || s->stopping ||
                                      transaction_records >= COMMIT_RECORDS ||
                                      fcb_wall_seconds() - transaction_start >= COMMIT_SECONDS);
        if (!commit_now)
            continue;
        uint64_t applied = s->applied;
        pthread_mutex_unlock(&s->lock);

        st = commit(s);
        in_transaction = st != FCB_OK;

        pthread_mutex_lock(&s->lock);
        if (st != FCB_OK)
            break;
        s->committed = applied;
        if (model) {
            s->model_pending = 0;
            s->models_saved++;
        }
        pthread_cond_broadcast(&s->done);
    }
    if (st != FCB_OK)
        writer_failed(s, st);
    pthread_mutex_unlock(&s->lock);
    if (in_transaction && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return NULL;
}

static fcb_status start_writer(fcb_agent_store *s)
{
    int rc = pthread_create(&s->writer, NULL, writer_main, s);
    if (rc != 0)
        return fcb_fail(FCB_ERR_NOMEM, "store %s: cannot start the writer thread (%s)", s->path, strerror(rc));
    s->writer_started = 1;
    return FCB_OK;
}

static void stop_writer(fcb_agent_store *s)
{
    if (!s->writer_started)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->writer, NULL);
    s->writer_started = 0;
}

static int close_connections(fcb_agent_store *s)
{
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    /* The writer's connection closes last: it checkpoints the WAL. */
    int rc = sqlite3_close(s->reader);
    int writer_rc = sqlite3_close(s->db);
    return rc != SQLITE_OK ? rc : writer_rc;
}

static void free_handle(fcb_agent_store *s)
{
    if (s->sync_ready) {
        pthread_cond_destroy(&s->done);
        pthread_cond_destroy(&s->room);
        pthread_cond_destroy(&s->work);
        pthread_mutex_destroy(&s->read_lock);
        pthread_mutex_destroy(&s->lock);
    }
    free(s->ring);
    free(s->contexts);
    free(s->path);
    free(s);
}

fcb_status fcb_agent_store_open(const fcb_agent_store_options *options, fcb_agent_store **out)
{
    if (!out)
        return fcb_fail(FCB_ERR_ARG, "agent store: NULL output");
    *out = NULL;
    fcb_status st = check_options(options);
    if (st != FCB_OK)
        return st;
    fcb_agent_store *s = calloc(1, sizeof *s);
    if (!s)
        return fcb_fail(FCB_ERR_NOMEM, "store %s: out of memory", options->path);
    st = init_handle(s, options);
    if (st == FCB_OK)
        st = open_connection(s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->db);
    if (st == FCB_OK)
        st = open_schema(s, options->sync_full);
    if (st == FCB_OK)
        st = prepare_writer(s);
    if (st == FCB_OK)
        st = bound_at_open(s);
    if (st == FCB_OK)
        st = open_connection(s, SQLITE_OPEN_READWRITE, &s->reader);
    if (st == FCB_OK)
        st = allocate_queue(s, options->queue_capacity);
    if (st == FCB_OK)
        st = start_writer(s);
    if (st != FCB_OK) {
        stop_writer(s);
        close_connections(s);
        free_handle(s);
        return st;
    }
    *out = s;
    return FCB_OK;
}

fcb_status fcb_agent_store_close(fcb_agent_store *s)
{
    if (!s)
        return FCB_OK;
    /* The writer drains the queue and commits before it stops. */
    stop_writer(s);
    fcb_status st = s->error == FCB_OK ? FCB_OK : sticky_error(s);
    int rc = close_connections(s);
    if (st == FCB_OK && rc != SQLITE_OK)
        st = fcb_fail(FCB_ERR_IO, "store %s: cannot close (%s)", s->path, sqlite3_errstr(rc));
    free_handle(s);
    return st;
}

/* ---- puts ---- */

/* Waits for a free slot; lock held. A put that waits is counted once. */
static fcb_status wait_for_room(fcb_agent_store *s)
{
    int waited = 0;
    while (s->count == s->capacity && s->error == FCB_OK) {
        if (!waited)
            atomic_fetch_add_explicit(&s->waits, 1, memory_order_relaxed);
        waited = 1;
        s->room_waiters++;
        pthread_cond_wait(&s->room, &s->lock);
        s->room_waiters--;
    }
    return s->error == FCB_OK ? FCB_OK : sticky_error(s);
}

/* The next free slot, filled by the caller; lock held, room checked. */
static int push_slot(fcb_agent_store *s)
{
    int slot = s->head + s->count;
    if (slot >= s->capacity)
        slot -= s->capacity;
    s->count++;
    s->enqueued++;
    if (s->writer_idle)
        pthread_cond_signal(&s->work);
    return slot;
}

static fcb_status check_event_id(const fcb_agent_store *s, uint64_t event_id)
{
    if (event_id == 0 || event_id > (uint64_t)INT64_MAX)
        return fcb_fail(FCB_ERR_ARG, "store %s: event id %llu is outside 1..2^63-1", s->path,
                        (unsigned long long)event_id);
    return FCB_OK;
}

static fcb_status check_decision(const fcb_agent_store *s, const fcb_store_decision *d)
{
    if (!d || !d->context)
        return fcb_fail(FCB_ERR_ARG, "store %s: NULL decision or context", s->path);
    fcb_status st = check_event_id(s, d->event_id);
    if (st != FCB_OK)
        return st;
    if (d->action < 0 || d->action >= s->num_actions)
        return fcb_fail(FCB_ERR_ARG, "store %s: event %llu: action %d is outside [0, %d)", s->path,
                        (unsigned long long)d->event_id, d->action, s->num_actions);
    if (!(d->propensity > 0.0f && d->propensity <= 1.0f))
        return fcb_fail(FCB_ERR_ARG, "store %s: event %llu: propensity %g is outside (0, 1]", s->path,
                        (unsigned long long)d->event_id, (double)d->propensity);
    if (!isfinite(d->time))
        return fcb_fail(FCB_ERR_ARG, "store %s: event %llu: time is not finite", s->path,
                        (unsigned long long)d->event_id);
    return FCB_OK;
}

fcb_status fcb_agent_store_put_decision(fcb_agent_store *s, const fcb_store_decision *d)
{
    fcb_status st = check_decision(s, d);
    if (st != FCB_OK)
        return st;
    pthread_mutex_lock(&s->lock);
    st = wait_for_room(s);
    if (st == FCB_OK) {
        int slot = push_slot(s);
        store_record *r = &s->ring[slot];
        r->kind = RECORD_DECISION;
        r->event_id = d->event_id;
        r->time = d->time;
        r->version = d->version;
        r->action = d->action;
        r->value = d->propensity;
        memcpy(s->contexts + (size_t)slot * (size_t)s->input_dim, d->context,
               (size_t)s->input_dim * sizeof(float));
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

fcb_status fcb_agent_store_put_feedback(fcb_agent_store *s, uint64_t event_id, float reward, double time)
{
    fcb_status st = check_event_id(s, event_id);
    if (st != FCB_OK)
        return st;
    if (!isfinite(reward) || !isfinite(time))
        return fcb_fail(FCB_ERR_ARG, "store %s: event %llu: reward %g or time %g is not finite", s->path,
                        (unsigned long long)event_id, (double)reward, time);
    pthread_mutex_lock(&s->lock);
    st = wait_for_room(s);
    if (st == FCB_OK) {
        store_record *r = &s->ring[push_slot(s)];
        r->kind = RECORD_FEEDBACK;
        r->event_id = event_id;
        r->time = time;
        r->version = 0;
        r->action = 0;
        r->value = reward;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

fcb_status fcb_agent_store_consume(fcb_agent_store *s, const uint64_t *event_ids, int n)
{
    if (n < 0 || (n > 0 && !event_ids))
        return fcb_fail(FCB_ERR_ARG, "store %s: consume: n = %d events, ids %s", s->path, n,
                        event_ids ? "given" : "NULL");
    for (int i = 0; i < n; i++) {
        fcb_status st = check_event_id(s, event_ids[i]);
        if (st != FCB_OK)
            return st;
    }
    fcb_status st = FCB_OK;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < n && st == FCB_OK; i++) {
        st = wait_for_room(s);
        if (st != FCB_OK)
            break;
        store_record *r = &s->ring[push_slot(s)];
        memset(r, 0, sizeof *r);
        r->kind = RECORD_CONSUME;
        r->event_id = event_ids[i];
    }
    if (n == 0 && s->error != FCB_OK)
        st = sticky_error(s);
    pthread_mutex_unlock(&s->lock);
    return st;
}

fcb_status fcb_agent_store_flush(fcb_agent_store *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t target = s->enqueued;
    s->flush_waiters++;
    while (s->committed < target && s->error == FCB_OK)
        pthread_cond_wait(&s->done, &s->lock);
    s->flush_waiters--;
    fcb_status st = s->error == FCB_OK ? FCB_OK : sticky_error(s);
    pthread_mutex_unlock(&s->lock);
    return st;
}

fcb_status fcb_agent_store_save_model(fcb_agent_store *s, int64_t version, const float *params, size_t n)
{
    if (!params || n == 0)
        return fcb_fail(FCB_ERR_ARG, "store %s: save model: NULL or empty parameters", s->path);
    if (n > s->max_blob_bytes / sizeof(float))
        return fcb_fail(FCB_ERR_ARG, "store %s: a model of %zu parameters is beyond SQLite's blob limit", s->path,
                        n);
    pthread_mutex_lock(&s->lock);
    while (s->model_pending && s->error == FCB_OK)
        pthread_cond_wait(&s->done, &s->lock);
    if (s->error == FCB_OK) {
        s->model_pending = 1;
        s->model_version = version;
        s->model_params = params;
        s->model_n = n;
        s->model_target = s->enqueued;
        uint64_t ticket = ++s->models_requested;
        if (s->writer_idle)
            pthread_cond_signal(&s->work);
        while (s->models_saved < ticket && s->error == FCB_OK)
            pthread_cond_wait(&s->done, &s->lock);
    }
    fcb_status st = s->error == FCB_OK ? FCB_OK : sticky_error(s);
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* ---- reads ---- */

uint64_t fcb_agent_store_last_event_id(const fcb_agent_store *s)
{
    return s->open_last_event_id;
}

uint64_t fcb_agent_store_waits(const fcb_agent_store *s)
{
    return atomic_load_explicit(&s->waits, memory_order_relaxed);
}

fcb_status fcb_agent_store_counts(fcb_agent_store *s, long *decisions, long *feedback)
{
    if (!decisions || !feedback)
        return fcb_fail(FCB_ERR_ARG, "store %s: counts: NULL output", s->path);
    sqlite3_int64 d = 0, f = 0;
    pthread_mutex_lock(&s->read_lock);
    fcb_status st = query_int(s, s->reader, "SELECT count(*) FROM decisions", &d);
    if (st == FCB_OK)
        st = query_int(s, s->reader, "SELECT count(*) FROM feedback", &f);
    pthread_mutex_unlock(&s->read_lock);
    *decisions = (long)d;
    *feedback = (long)f;
    return st;
}

/* One row of the scan into d (context copied to an aligned buffer). */
static fcb_status read_row(const fcb_agent_store *s, sqlite3_stmt *q, fcb_store_decision *d, float *context)
{
    sqlite3_int64 id = sqlite3_column_int64(q, 0);
    const void *blob = sqlite3_column_blob(q, 5);
    int bytes = sqlite3_column_bytes(q, 5);
    if (id <= 0 || !blob || bytes != s->input_dim * (int)sizeof(float))
        return fcb_fail(FCB_ERR_FORMAT, "store %s is corrupt: decision %lld has a context of %d bytes, "
                                        "expected %d floats",
                        s->path, (long long)id, bytes, s->input_dim);
    memcpy(context, blob, (size_t)bytes);
    d->event_id = (uint64_t)id;
    d->time = sqlite3_column_double(q, 1);
    d->version = sqlite3_column_int64(q, 2);
    d->action = sqlite3_column_int(q, 3);
    d->propensity = (float)sqlite3_column_double(q, 4);
    d->context = context;
    return FCB_OK;
}

/* A stored row must be one the puts would have accepted; anything else is
 * damage to the file (its reader would index by the action, divide by the
 * propensity, learn from the reward). Contexts are any bytes, as put. */
static fcb_status check_stored_row(const fcb_agent_store *s, const fcb_store_decision *d, int has_feedback,
                                   float reward, double feedback_time)
{
    fcb_status st = check_decision(s, d);
    if (st == FCB_OK && has_feedback && (!isfinite(reward) || !isfinite(feedback_time)))
        st = fcb_fail(FCB_ERR_ARG, "store %s: event %llu: reward %g or time %g is not finite", s->path,
                      (unsigned long long)d->event_id, (double)reward, feedback_time);
    if (st == FCB_OK)
        return FCB_OK;
    char why[768];
    snprintf(why, sizeof why, "%s", fcb_last_error());
    return fcb_fail(FCB_ERR_FORMAT, "%s (the file is corrupt)", why);
}

static fcb_status scan_rows(fcb_agent_store *s, sqlite3_stmt *q, float *context, fcb_store_row_fn fn, void *ctx)
{
    for (;;) {
        int rc = sqlite3_step(q);
        if (rc == SQLITE_DONE)
            return FCB_OK;
        if (rc != SQLITE_ROW)
            return sql_fail(s->path, s->reader, rc, "scanning");
        fcb_store_decision d;
        fcb_status st = read_row(s, q, &d, context);
        int has_feedback = sqlite3_column_int(q, 6);
        float reward = (float)sqlite3_column_double(q, 7);
        double feedback_time = sqlite3_column_double(q, 8);
        if (st == FCB_OK)
            st = check_stored_row(s, &d, has_feedback, reward, feedback_time);
        if (st == FCB_OK)
            st = fn(ctx, &d, has_feedback, reward, feedback_time);
        if (st != FCB_OK)
            return st;
    }
}

fcb_status fcb_agent_store_scan(fcb_agent_store *s, fcb_store_row_fn fn, void *ctx)
{
    if (!fn)
        return fcb_fail(FCB_ERR_ARG, "store %s: scan: NULL callback", s->path);
    float *context = malloc((size_t)s->input_dim * sizeof *context);
    if (!context)
        return fcb_fail(FCB_ERR_NOMEM, "store %s: scan: out of memory", s->path);
    const char *sql = "SELECT d.id, d.time, d.version, d.action, d.propensity, d.context, f.event_id IS NOT NULL, "
                      "f.reward, f.time FROM decisions d LEFT JOIN feedback f ON f.event_id = d.id ORDER BY d.id";
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&s->read_lock);
    int rc = sqlite3_prepare_v2(s->reader, sql, -1, &q, NULL);
    fcb_status st = rc == SQLITE_OK ? scan_rows(s, q, context, fn, ctx) : sql_fail(s->path, s->reader, rc, "scanning");
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->read_lock);
    free(context);
    return st;
}

fcb_status fcb_agent_store_load_model(fcb_agent_store *s, int64_t *version, float *params, size_t n, int *found)
{
    if (!version || !params || !found)
        return fcb_fail(FCB_ERR_ARG, "store %s: load model: NULL argument", s->path);
    *found = 0;
    sqlite3_stmt *q = NULL;
    pthread_mutex_lock(&s->read_lock);
    int rc = sqlite3_prepare_v2(s->reader, "SELECT version, params FROM model WHERE id = 1", -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    fcb_status st = FCB_OK;
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(q, 1);
        size_t bytes = (size_t)sqlite3_column_bytes(q, 1);
        if (bytes != n * sizeof(float) || !blob) {
            st = fcb_fail(FCB_ERR_ARG, "store %s holds a model of %zu parameters, expected %zu", s->path,
                          bytes / sizeof(float), n);
        } else {
            memcpy(params, blob, bytes);
            *version = sqlite3_column_int64(q, 0);
            *found = 1;
            for (size_t j = 0; j < n && st == FCB_OK; j++)
                if (!isfinite(params[j]))
                    st = fcb_fail(FCB_ERR_FORMAT, "store %s is corrupt: model parameter %zu is not finite", s->path, j);
            if (st != FCB_OK)
                *found = 0;
        }
    } else if (rc != SQLITE_DONE) {
        st = sql_fail(s->path, s->reader, rc, "loading the model");
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->read_lock);
    return st;
}
