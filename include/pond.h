/*
 * pond.h — the whole public API of pond, an embeddable customer-lifecycle engine.
 *
 * pond keeps, for every customer of one tenant, its tags, lifecycle stages and
 * attributes; selects customers with segment queries; and runs SOP automation.
 * This header is the documentation: every function says what it does, who owns
 * what, and what its errors mean.
 *
 * Conventions
 *  - Every function returning int returns a status: POND_OK (0) or a negative
 *    POND_E* code. A few predicates return 1 or 0 for true/false and a negative
 *    code on error (pond_customer_exists, pond_tag_has, pond_set_contains).
 *  - Details of the last error on a handle are in pond_errmsg(db).
 *  - A failed call changes nothing and writes nothing to its out parameters.
 *  - Timestamps are int64_t seconds since the Unix epoch, UTC, supplied by the
 *    caller: the library never reads the clock.
 *  - Lengths are size_t; POND_NTS means "NUL-terminated string".
 *  - Outside pond_begin/pond_commit every mutating call is its own transaction;
 *    with storage attached, its own storage commit (a call that changes
 *    nothing writes nothing), and a failed commit undoes the call.
 *
 * Threading
 *  - A pond_db may be called from several threads: calls on one handle are
 *    serialized by a mutex inside the handle (each call holds it for its
 *    whole duration; a transaction does not hold it between calls, so calls
 *    of other threads made between pond_begin and pond_commit join the
 *    transaction). pond_errmsg and pond_error_offset report the calling
 *    thread's last error (see pond_errmsg).
 *  - A pond_set is immutable. Sets (and the tag snapshots they share memory
 *    with, copy-on-write) may be read from any thread concurrently with each
 *    other and with calls on the db. pond_set_free may be called from any
 *    thread. Every set must be freed before pond_close of the db that made it.
 */
#ifndef POND_H
#define POND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(POND_BUILDING) && defined(__GNUC__)
#define POND_API __attribute__((visibility("default")))
#else
#define POND_API
#endif

#define POND_VERSION_MAJOR 0
#define POND_VERSION_MINOR 1
#define POND_VERSION_PATCH 0
#define POND_VERSION_STRING "0.1.0"
#define POND_VERSION_NUMBER \
  (POND_VERSION_MAJOR * 10000 + POND_VERSION_MINOR * 100 + POND_VERSION_PATCH)

/* ---------------------------------------------------------------- status codes */

#define POND_OK 0
#define POND_NOTFOUND (-1)  /* a named customer, tag, attribute… does not exist */
#define POND_EINVAL (-2)    /* an argument is invalid (NULL, bad name, bad type) */
#define POND_ENOMEM (-3)    /* allocation failed or memory_limit reached */
#define POND_EPARSE (-4)    /* a query or definition document is malformed */
#define POND_ELIMIT (-5)    /* input exceeds a configured limit */
#define POND_ECONFLICT (-6) /* the operation conflicts with current state */
#define POND_ESTORAGE (-7)  /* the storage backend failed; state rolled back */
#define POND_ECORRUPT (-8)  /* stored or serialized data is corrupt */
#define POND_EMISUSE (-9)   /* API misuse, e.g. commit without begin */
#define POND_EBUSY (-10)    /* the file store is locked by another opener */

/* A length meaning "the string is NUL-terminated". */
#define POND_NTS ((size_t)-1)

/* ------------------------------------------------------------------- handles */

typedef struct pond_db pond_db;       /* one tenant's database */
typedef struct pond_query pond_query; /* a compiled query expression */
typedef struct pond_set pond_set;     /* an immutable set of customer ids */

/* ------------------------------------------------------------------- storage */

/*
 * One record crossing the storage boundary. val == NULL means "delete key".
 * Buffers are borrowed for the duration of the call that passes them.
 */
typedef struct pond_kv {
  const void *key;
  size_t klen;
  const void *val;
  size_t vlen;
} pond_kv;

#define POND_STORAGE_V1 1u

/*
 * Host-supplied persistence (see lib/store/README.md for the key layout).
 *  scan:   call each() for every record whose key starts with prefix, in
 *          ascending byte order of keys (memcmp, then the shorter first);
 *          stop and return each()'s value when it is non-zero. Returns 0 on
 *          success, non-zero on failure. pond_open makes one scan with the
 *          empty prefix (plen 0) and reads everything.
 *  commit: apply all n operations atomically (all or nothing). 0 on success.
 *          pond makes one commit per transaction (pond_commit, or each
 *          mutating call outside pond_begin) holding every record the
 *          transaction changed, each key once; a delete may name a key the
 *          storage does not have. A failing commit fails the transaction:
 *          pond rolls its memory back and returns POND_ESTORAGE.
 *  close:  release ctx; called by pond_close. May be NULL.
 *  errmsg: optional; a description of the last failure, read right after it
 *          and kept in pond_errmsg.
 * Keys and values are borrowed for the duration of the call that passes
 * them (scan's kv: until each() returns). Callbacks run on the thread of
 * the pond call, with the db's mutex held: they must not call the db.
 * Later versions only append fields; the library checks version first
 * (this one reads any version >= POND_STORAGE_V1 as version 1).
 */
typedef struct pond_storage {
  unsigned version; /* POND_STORAGE_V1 */
  void *ctx;
  int (*scan)(void *ctx, const void *prefix, size_t plen,
              int (*each)(void *arg, const pond_kv *kv), void *arg);
  int (*commit)(void *ctx, const pond_kv *ops, size_t n);
  void (*close)(void *ctx);
  const char *(*errmsg)(void *ctx);
} pond_storage;

/* ------------------------------------------------------------------- options */

/*
 * Limits on untrusted input. A zero field means the default shown.
 */
typedef struct pond_limits {
  size_t query_max_len;        /* 65536 bytes of query text */
  unsigned query_max_depth;    /* 64 levels of nesting */
  unsigned query_max_nodes;    /* 4096 expression nodes */
  unsigned query_max_in_items; /* 10000 items in one IN list */
  size_t define_max_len;       /* 16 MiB of definition JSON */
  unsigned define_max_depth;   /* 64 levels of JSON nesting */
} pond_limits;

#define POND_OPTIONS_V1 1u

/* Option flags (pond_options.flags). */
#define POND_AUTOCREATE 0x1u /* calls naming an unknown customer create it */

/*
 * Options for pond_open. Versioned: later versions only append fields.
 *  alloc: Lua-style allocator. alloc(ud, NULL, 0, n) allocates n bytes;
 *         alloc(ud, p, o, n) resizes the o-byte block p to n bytes;
 *         alloc(ud, p, o, 0) frees p and must return NULL. Returning NULL for
 *         n > 0 is an allocation failure (the call fails with POND_ENOMEM and
 *         changes nothing). NULL: libc realloc/free.
 *  memory_limit: bytes; 0 = none. Allocations beyond it fail with POND_ENOMEM.
 *  alloc is called with the db's mutex held, except by pond_set_free, which
 *  may run on any thread: an allocator shared by threads must be
 *  thread-safe.
 */
typedef struct pond_options {
  unsigned version; /* POND_OPTIONS_V1 */
  const pond_storage *storage; /* NULL: in memory only; copied by pond_open */
  void *(*alloc)(void *ud, void *ptr, size_t osize, size_t nsize);
  void *alloc_ud;
  size_t memory_limit;
  pond_limits limits;
  unsigned flags; /* POND_AUTOCREATE, … */
} pond_options;

/* ------------------------------------------------------------ the db handle */

/*
 * Opens a database. opt == NULL (or opt->storage == NULL) gives an in-memory
 * database. With storage, everything is loaded through storage->scan; on
 * success pond owns the storage ctx and calls storage->close at pond_close.
 * On failure *out is untouched and storage->close has not been called.
 * Empty storage gives an empty db (the first commit writes the format's
 * meta record). Loading rebuilds every derived index (tag bitmaps,
 * attribute indexes, dictionaries); 1M customers with 10 tags each load in
 * about 0.4 s from the file store (bench/README.md).
 * opt->version must be POND_OPTIONS_V1; opt->flags may hold POND_AUTOCREATE;
 * zero fields of opt->limits take the defaults shown there. The handle itself
 * is allocated through opt->alloc and counts against memory_limit.
 * Errors: POND_EINVAL (bad options version, unknown flags, out NULL, a
 * storage without scan or commit or with version 0), POND_ENOMEM,
 * POND_ESTORAGE (scan failed; the storage's errmsg is quoted),
 * POND_ECORRUPT (a record that does not decode, keys out of order, or a
 * record format newer than this library's: "storage: format version 2 is
 * newer than this library's (1) …"). The reason is in pond_errmsg(NULL).
 */
POND_API int pond_open(const pond_options *opt, pond_db **out);

/* Flags for pond_open_path. */
#define POND_NOSYNC 0x100u /* do not fsync each commit (bulk loads) */

/*
 * Opens (creating if needed) a database in the directory path (created if
 * missing), persisted by the embedded file store: an append-only log of
 * commit batches framed with length and CRC32C (lib/store/README.md).
 * flags: POND_AUTOCREATE (as in pond_options) and POND_NOSYNC.
 * By default every commit is fdatasync'ed before it returns: an
 * acknowledged commit survives a crash or power loss. With POND_NOSYNC
 * commits return as soon as they are written (for bulk loads): a crash may
 * lose the latest ones — never part of one — and pond_close syncs.
 * At open a torn or unsynced tail is truncated and everything before it
 * kept; damage before it is POND_ECORRUPT, never silent loss. The log is
 * compacted (rewritten into a new file, synced, renamed) automatically
 * when garbage passes 8 MiB and half the file, and by pond_compact.
 * The directory is locked (flock on path/LOCK) while open.
 * Errors: those of pond_open, and POND_EBUSY (another opener, in this or
 * another process, holds the directory), POND_ESTORAGE (I/O; the path and
 * the system's message in pond_errmsg(NULL)), POND_EINVAL (NULL or empty
 * path, unknown flags).
 */
POND_API int pond_open_path(const char *path, unsigned flags, pond_db **out);

/*
 * Compacts the file store of a db opened with pond_open_path now: live
 * records are rewritten into a new log generation, which is synced and
 * atomically renamed into place (O(live records)). On failure the old log
 * stays in use and nothing changed. POND_EMISUSE for a db that is not on
 * the file store (in memory or host storage). May be called inside a
 * transaction (its changes are not written until pond_commit).
 */
POND_API int pond_compact(pond_db *db);

/* Closes db (NULL is a no-op). An open transaction is rolled back. */
POND_API void pond_close(pond_db *db);

/*
 * The message of the last failed call made on db by the calling thread (""
 * when none; successful calls leave it alone). Valid until the next call on
 * db from the same thread. Each handle keeps the messages of the 8 threads
 * that failed most recently: a thread's message is lost (reads "") only
 * after 8 other threads have failed on the same handle since. Expected
 * failures name what failed ("customer 42 does not exist",
 * "define:$.tag_groups[1].ttl: invalid duration '3x' …"). pond_errmsg(NULL)
 * returns the reason of the last pond_open/pond_open_path that failed on
 * the calling thread.
 */
POND_API const char *pond_errmsg(const pond_db *db);

/* A static description of a status code. */
POND_API const char *pond_strerror(int rc);

/* The byte offset in the input of the calling thread's last error on db
 * (pond_define: the offending JSON value, or the syntax error; queries: the
 * token), or -1 when that error has no position. */
POND_API long pond_error_offset(const pond_db *db);

/* "MAJOR.MINOR.PATCH" of the library actually linked. */
POND_API const char *pond_version(void);

/* Bytes currently allocated through db's allocator. */
POND_API size_t pond_memory_used(const pond_db *db);

/* ------------------------------------------------------------- definitions */

/*
 * Applies a definition document (see DEFINITIONS.md; len may be POND_NTS).
 * This version reads "attributes", "tag_groups", "counters", "segments",
 * "machines" and "drop" (lib/define/README.md, lib/lifecycle/README.md);
 * "keywords", "rules" and "limits", and dropping machines, are refused as
 * not yet supported. "machines": states, an initial state, transitions
 * {from (a state, a list, or "*"), to, on (an event) | after (a duration >
 * 0), if (a query expression, type-checked against the document's
 * definitions)}; unknown states (with a suggestion), self-transitions,
 * unknown machines/states/tag groups in built-in event names, and cycles
 * of stage.entered transitions that could loop are POND_EINVAL; removing
 * a state customers are in is POND_ECONFLICT unless the machine maps it,
 * "rename_states": {"old": "new"} (since is kept). Unreachable states are
 * warnings, read with pond_define_diagnostics. Machines keep the order of
 * their first definition. An upsert of names: a listed name's definition is replaced,
 * new names are added, absent names stay. "drop": [{"attribute": "a"},
 * {"tag_group": "g"}, {"tag": "g/t"}] removes names and their data and is
 * applied first. Validated completely before anything changes: on error
 * nothing changed, the code is POND_EPARSE (bad JSON: "define:LINE:COL: …"),
 * POND_EINVAL (a well-formed document that is invalid), POND_ECONFLICT (it
 * contradicts the data: an attribute's type changing while customers have
 * values, a group becoming exclusive while a customer holds two of its
 * tags), POND_ELIMIT (limits.define_max_len / define_max_depth, more than
 * 4096 attributes) or POND_ENOMEM, and pond_errmsg names the JSON path:
 * "define:$.tag_groups[1].ttl: invalid duration '3x' …", with
 * pond_error_offset at the offending value.
 */
POND_API int pond_define(pond_db *db, const char *json, size_t len);

/* ------------------------------------------------------------ transactions */

/*
 * pond_begin starts a transaction (POND_EMISUSE if one is open). Calls until
 * pond_commit/pond_rollback apply to it. A call that fails inside a
 * transaction changes nothing and leaves the transaction open. pond_commit
 * writes every changed record in one storage commit; if that fails the
 * transaction is rolled back and POND_ESTORAGE is returned. pond_rollback
 * restores exactly the state before pond_begin (bitmaps, names, ids given
 * out, definitions) and cannot fail. Both return POND_EMISUSE without an
 * open transaction. pond_close rolls an open transaction back. Sets taken
 * during a transaction stay valid after its rollback.
 */
POND_API int pond_begin(pond_db *db);
POND_API int pond_commit(pond_db *db);
POND_API int pond_rollback(pond_db *db);

/* --------------------------------------------------------------- customers */

/*
 * Creates customer cid (added_at = ts) or, if it exists, does nothing. Any
 * uint64_t is a valid id.
 *
 * POND_AUTOCREATE: pond_tag_add, pond_tag_add_many, pond_event and
 * pond_message naming an unknown customer create it first (added_at = the
 * call's ts), in the same call.
 * Calls without a timestamp (attributes) and removals do not create: they
 * return POND_NOTFOUND.
 */
POND_API int pond_customer_upsert(pond_db *db, uint64_t cid, int64_t ts);

/* Erases everything about cid (tags, attributes, …). POND_NOTFOUND if absent. */
POND_API int pond_customer_delete(pond_db *db, uint64_t cid);

/* 1 if cid exists, 0 if not, <0 on error. */
POND_API int pond_customer_exists(pond_db *db, uint64_t cid);

/* Number of customers. */
POND_API uint64_t pond_customer_count(pond_db *db);

/* -------------------------------------------------------------------- tags */

/*
 * The id of tag name ("group/name", UTF-8, each part 1–64 bytes, no '/' in a
 * part). A tag not yet known is created if its group exists and is not
 * exclusive (creating it is a mutation, undone by a rollback); otherwise
 * POND_NOTFOUND. POND_EINVAL for a malformed name. Ids are never reused.
 */
POND_API int pond_tag_id(pond_db *db, const char *name, uint32_t *id);

/*
 * The name of tag as "group/name"; valid until the tag is renamed or deleted
 * or the next pond_define or pond_rollback, whichever comes first.
 * POND_NOTFOUND for an id that is not a live tag (ids start at 1).
 */
POND_API int pond_tag_name(pond_db *db, uint32_t tag, const char **name);

/*
 * Adds tag to cid at time ts. Adding a tag of an exclusive group removes the
 * customer's other tag of that group. Re-adding a tag the customer has
 * refreshes its time (ttl clock) and raises nothing. pond_tag_remove of a
 * tag the customer lacks does nothing. Errors: POND_NOTFOUND (no such tag
 * or customer).
 */
POND_API int pond_tag_add(pond_db *db, uint64_t cid, uint32_t tag, int64_t ts);
POND_API int pond_tag_remove(pond_db *db, uint64_t cid, uint32_t tag, int64_t ts);

/* 1 if cid has tag, 0 if not, <0 on error (POND_NOTFOUND: no such tag). */
POND_API int pond_tag_has(pond_db *db, uint64_t cid, uint32_t tag);

/*
 * Adds tag to n customers (in any order, duplicates allowed) as one call:
 * all or nothing. Every cid must exist (POND_NOTFOUND names the first one
 * that does not) unless the db has POND_AUTOCREATE.
 */
POND_API int pond_tag_add_many(pond_db *db, uint32_t tag, const uint64_t *cids,
                               size_t n, int64_t ts);

/*
 * The tags of cid in ascending id order: writes min(cap, count) ids to out and
 * the total count to *n (out may be NULL when cap is 0).
 */
POND_API int pond_customer_tags(pond_db *db, uint64_t cid, uint32_t *out,
                                size_t cap, size_t *n);

/* A snapshot of tag's members (later changes do not affect it; O(64K-id
 * chunks) to take, memory shared copy-on-write); free with pond_set_free. */
POND_API int pond_tag_members(pond_db *db, uint32_t tag, pond_set **out);

/* The number of tag's members. */
POND_API int pond_tag_count(pond_db *db, uint32_t tag, uint64_t *n);

/*
 * Renames tag to new_name ("group/name"; the group must exist). The id stays.
 * POND_ECONFLICT if new_name is taken; moving a tag into an exclusive group
 * whose members would then hold two of its tags is POND_ECONFLICT.
 */
POND_API int pond_tag_rename(pond_db *db, uint32_t tag, const char *new_name);

/*
 * Adds into to every member of from (at time ts, with into's exclusivity),
 * then deletes from. POND_EINVAL if from == into.
 */
POND_API int pond_tag_merge(pond_db *db, uint32_t from, uint32_t into, int64_t ts);

/* Removes tag from every customer and forgets it; its id is not reused. */
POND_API int pond_tag_delete(pond_db *db, uint32_t tag);

/* -------------------------------------------------------------- attributes */

/*
 * Sets attribute attr of cid. set_int serves int, time and bool attributes
 * (bool: 0 or 1, else POND_EINVAL); set_str serves string attributes (valid
 * UTF-8). A type mismatch is POND_EINVAL; an undeclared attr POND_NOTFOUND.
 * pond_attr_clear makes the attribute NULL (nothing to do when it is).
 * String values are at most 4096 bytes; "added_at" and "last_seen" are
 * read-only (POND_EINVAL). The customer must exist (POND_NOTFOUND).
 */
POND_API int pond_attr_set_int(pond_db *db, uint64_t cid, const char *attr, int64_t v);
POND_API int pond_attr_set_str(pond_db *db, uint64_t cid, const char *attr, const char *v);
POND_API int pond_attr_clear(pond_db *db, uint64_t cid, const char *attr);

/*
 * Reads attribute attr of cid: 1 and the value in *v when it is set, 0 when
 * it is NULL (*v untouched). get_int serves int, time and bool attributes
 * and the built-in "added_at" and "last_seen" (NULL until the customer's
 * first activity); get_str serves string attributes, and *v is borrowed:
 * valid until the next mutating call on db (by any thread), the next
 * pond_define or pond_rollback. Errors: POND_NOTFOUND (no such customer or
 * undeclared attribute), POND_EINVAL (a string attribute read with
 * get_int, or the other way round).
 */
POND_API int pond_attr_get_int(pond_db *db, uint64_t cid, const char *attr, int64_t *v);
POND_API int pond_attr_get_str(pond_db *db, uint64_t cid, const char *attr, const char **v);

/* ------------------------------------------------------------------ events */

/*
 * Customer cid received the host's event `name` (UTF-8, 1-256 bytes) at ts.
 * Its effects: last_seen becomes max(last_seen, ts) (activity), and when
 * `name` is a declared counter (pond_define "counters"), count('name')
 * grows by one and last('name') becomes max(last('name'), ts) — both
 * queryable, and kept in the customer's record. An event that is no
 * counter still counts as activity. Then lifecycle machines are offered
 * the event (see "lifecycle" below): the effects and the transitions they
 * fire are one atomic call. Errors: POND_NOTFOUND (no such
 * customer, unless POND_AUTOCREATE), POND_EINVAL (NULL or malformed name,
 * ts == INT64_MIN, or a name the library raises itself: "message" — use
 * pond_message — "customer.added", "tag.added:…", "tag.removed:…",
 * "stage.entered:…", "segment.entered:…", "segment.left:…", "keyword:…").
 * Undone by pond_rollback like every call.
 */
POND_API int pond_event(pond_db *db, uint64_t cid, const char *name, int64_t ts);

/*
 * Customer cid sent a chat message text[0..len) (UTF-8; len may be
 * POND_NTS) at ts: the built-in event "message", with the effects of
 * pond_event (last_seen; the counter "message" when declared). This
 * version records the activity only: keyword matching (definitions
 * "keywords") is not in it yet, and the text is not kept. POND_EINVAL for
 * invalid UTF-8 or ts == INT64_MIN; POND_NOTFOUND as pond_event.
 */
POND_API int pond_message(pond_db *db, uint64_t cid, const char *text, size_t len, int64_t ts);

/* --------------------------------------------------------------- lifecycle */

/*
 * Lifecycle machines (pond_define "machines", DESIGN.md "Lifecycle
 * semantics"). Each customer is in one state of every machine, with the
 * time it entered it (`since`): a customer starts in the machine's initial
 * state (since = added_at; customers that existed before the machine was
 * defined too). Transitions fire:
 *  - on events: pond_event, pond_message ("message"), and the built-in
 *    events the library raises — "customer.added" (a customer is created),
 *    "tag.added:<g/t>" and "tag.removed:<g/t>" (membership changed: not
 *    re-adds, and a ttl expiry is a removal; raised by pond_tag_add and
 *    pond_tag_remove on existing customers and by ttl expiry — in this
 *    version not by pond_tag_add_many, pond_tag_merge, pond_tag_delete or
 *    the first tag of a customer pond_tag_add creates),
 *    "stage.entered:<m>/<s>" (a
 *    transition of machine m entered s). An event's own effects (last_seen,
 *    counters) apply first; then machines are offered the event in the
 *    order they were first defined, each firing the first listed
 *    transition whose `from` holds the current state and whose guard `if`
 *    is TRUE on the customer at the event's time. A transition never goes
 *    from a state to itself (a `from` list naming `to` is refused by
 *    pond_define; "*" means any state other than `to`). Events raised while
 *    an event is processed are queued, FIFO, and offered after it to every
 *    machine, at the same time; generations past 8 are dropped, and one
 *    call fires at most 4096 transitions in all.
 *  - after a duration without activity, at max(since, last_seen) +
 *    duration: in pond_tick (below).
 * Every transition updates the per-state sets (stage('m') = 's' in
 * queries), the funnel counters and raises stage.entered:<m>/<s>.
 */

/*
 * The state of cid in machine (its name, borrowed: valid until the next
 * pond_define or pond_rollback) and since, either out pointer may be NULL.
 * POND_NOTFOUND: no such customer or machine.
 */
POND_API int pond_stage(pond_db *db, uint64_t cid, const char *machine, const char **state,
                        int64_t *since);

/* Flags of pond_transition_ex. */
#define POND_FORCE 0x1u /* move even where no transition allows it */

/*
 * Moves cid to `state` of `machine` at ts (since = ts), as if a transition
 * fired: the funnel counts it, stage.entered:<machine>/<state> is raised
 * and dispatched, timers re-arm. Guards are not evaluated: the host
 * decides. POND_ECONFLICT when no transition of the machine goes from the
 * current state to `state` (pond_transition_ex with POND_FORCE moves it
 * anyway). Already in `state`: POND_OK, nothing changes, nothing is
 * raised. POND_NOTFOUND: no such customer, machine or state; POND_EINVAL:
 * NULL names, unknown flags, ts == INT64_MIN.
 */
POND_API int pond_transition(pond_db *db, uint64_t cid, const char *machine, const char *state,
                             int64_t ts);
POND_API int pond_transition_ex(pond_db *db, uint64_t cid, const char *machine, const char *state,
                                int64_t ts, unsigned flags);

/*
 * Fires every timer due at or before now, in due-time order (ties: by
 * customer id, then machine definition order, then ttl expiries by tag
 * id), each at its due time: an `after` transition's guard is evaluated
 * at the due time and the transition takes effect then (since = due time);
 * a guard that does not hold leaves the timer spent until activity or a
 * state change re-arms it. Tag-group ttl expiries remove the tag at its
 * due time and raise tag.removed:<g/t>. Cascades run at the due time;
 * timers they arm fire in the same call when due by now. All or nothing:
 * a failure (POND_ENOMEM, POND_ESTORAGE) fires none. Timers are derived
 * from the customer records, so they survive a reopen exactly: none lost,
 * none fired twice. pond_tick after pond_define (or after a rollback of a
 * call that fired or armed timers) first rebuilds the timer queue from the
 * records: O(customers).
 */
POND_API int pond_tick(pond_db *db, int64_t now);

/* Kinds of funnel rows. */
#define POND_FUNNEL_STATE 1 /* a state: customers in it now */
#define POND_FUNNEL_STEP 2  /* a move from one state to another */

/*
 * One row of pond_funnel. For POND_FUNNEL_STATE rows: `to` names the state,
 * count = customers in it now, entered = moves into it within the range,
 * rate = count / all customers. For POND_FUNNEL_STEP rows: from -> to
 * (from NULL: customers added, arriving in the initial state), count =
 * such moves within the range, entered = moves into `from` within the
 * range (for arrivals: the arrivals), rate = count / entered (0 when
 * entered is 0) — the conversion rate from `from` to `to`.
 */
typedef struct pond_funnel_row {
  int kind; /* POND_FUNNEL_STATE or POND_FUNNEL_STEP */
  const char *from;
  const char *to;
  uint64_t count;
  uint64_t entered;
  double rate;
} pond_funnel_row;

/*
 * The funnel of machine over [from, to): first one POND_FUNNEL_STATE row per
 * state (definition order), then one POND_FUNNEL_STEP row per (from, to)
 * that moved in the range (arrivals first, then by the from state's and
 * the to state's definition order). Moves are counted per UTC day: the
 * range covers every day it overlaps. *rows (names inside it) is freed
 * with pond_funnel_free. POND_NOTFOUND: no such machine.
 */
POND_API int pond_funnel(pond_db *db, const char *machine, int64_t from, int64_t to,
                         pond_funnel_row **rows, size_t *n);
POND_API void pond_funnel_free(pond_db *db, pond_funnel_row *rows);

/*
 * Warnings of the last successful pond_define on db, one per line
 * ("define:$.machines[0].states[4]: warning: state 'x' is unreachable from
 * the initial state 'new'"), or "". Valid until the next pond_define.
 */
POND_API const char *pond_define_diagnostics(pond_db *db);

/* ------------------------------------------------------------------ queries */

/*
 * Segment queries: the SQL-WHERE language of QUERY.md, e.g.
 *   tag('来源/门店扫码') AND NOT tag('状态/免打扰') AND spend >= 1000
 *     AND region LIKE '广东%' AND last_seen < now() - 30d
 * with SQL's three-valued logic: a customer is selected when the
 * expression is TRUE (not FALSE, not UNKNOWN).
 *
 * pond_query_prepare compiles expr[0..len) (len may be POND_NTS) against
 * the db's definitions: names are resolved and types checked now. Errors:
 * POND_EPARSE with pond_errmsg "query:LINE:COL: message" (LINE counts
 * '\n'; COL counts characters, not bytes, from 1) — unknown names come
 * with "did you mean '…'?" — and pond_error_offset the byte offset;
 * POND_ELIMIT when the text, its nesting, its node count or an IN list
 * exceeds pond_options.limits; POND_ENOMEM. *out is freed with
 * pond_query_free, before pond_close. A query follows redefinitions: after
 * pond_define it is prepared again from its text on next use (and that use
 * fails with POND_EPARSE if a name it uses is gone).
 */
POND_API int pond_query_prepare(pond_db *db, const char *expr, size_t len, pond_query **out);

/*
 * The customers for which q is TRUE at time now (the value of now()), as
 * a new set (free with pond_set_free). The whole population is evaluated
 * chunk by chunk over the tag bitmaps and attribute indexes.
 */
POND_API int pond_query_eval(pond_query *q, int64_t now, pond_set **out);

/*
 * *n := the number of customers for which q is TRUE at time now — what
 * pond_set_count(pond_query_eval(…)) gives, without making the set (the
 * chunks' TRUE bits are counted as they are computed).
 */
POND_API int pond_query_count(pond_query *q, int64_t now, uint64_t *n);

/*
 * 1 if q is TRUE for customer cid at time now, 0 if FALSE or UNKNOWN,
 * <0 on error (POND_NOTFOUND: no such customer). Reads only that customer.
 */
POND_API int pond_query_test(pond_query *q, uint64_t cid, int64_t now);

/* Frees q (NULL is a no-op). */
POND_API void pond_query_free(pond_query *q);

/* ---------------------------------------------------------------------- sets */

#define POND_AND 1
#define POND_OR 2
#define POND_ANDNOT 3
#define POND_XOR 4

/* Number of ids in s. */
POND_API uint64_t pond_set_count(const pond_set *s);

/*
 * Writes up to cap ids of s that are >= from, ascending, to out; returns how
 * many were written. To page: from = last id written + 1.
 */
POND_API size_t pond_set_page(const pond_set *s, uint64_t from, uint64_t *out,
                              size_t cap);

/* 1 if cid is in s, else 0. */
POND_API int pond_set_contains(const pond_set *s, uint64_t cid);

/*
 * Serializes s in the Roaring portable format (RoaringFormatSpec) when every
 * id is below 2^32, else in the portable 64-bit format (a little-endian
 * uint64 count of 32-bit buckets, then per bucket a uint32 high key and a
 * portable 32-bit bitmap). buf == NULL asks for the size in *len. With a
 * buffer, *len gets the bytes written; POND_ELIMIT if cap is too small.
 */
POND_API int pond_set_serialize(const pond_set *s, void *buf, size_t cap, size_t *len);

/*
 * Reads a set written by pond_set_serialize or any Roaring implementation
 * (either format). Every byte is validated: POND_ECORRUPT on malformed input.
 */
POND_API int pond_set_deserialize(pond_db *db, const void *buf, size_t len,
                                  pond_set **out);

/* *out = a op b, op one of POND_AND, POND_OR, POND_ANDNOT, POND_XOR. */
POND_API int pond_set_op(pond_db *db, int op, const pond_set *a, const pond_set *b,
                         pond_set **out);

/* Frees s (NULL is a no-op). */
POND_API void pond_set_free(pond_set *s);

#ifdef __cplusplus
}
#endif
#endif /* POND_H */
