/*
 * lc.h — lifecycle machines: definitions, per-customer state, dispatch,
 * timers and funnel counters (lib/lifecycle/README.md has the picture).
 * Internal to the library; prefix lc_.
 *
 * Definitions. A compiled machine set (lc_mset) hangs off the definitions
 * (df_defs.machines), immutable once published and shared between clones
 * by a reference count, so a transaction's image of the definitions keeps
 * its machines too. Machine ids and state ids are slots, never reused: a
 * dropped machine or state keeps its slot (live = 0), a name defined again
 * gets its old slot back while it is live.
 *
 * Per-customer state lives in the customer record (db/rec.h) as one entry
 * per machine, key lc_key(mid, sid, spent), value `since`. No entry means
 * "the machine's home state since added_at": customers that never leave
 * the state they started in cost nothing, and defining a machine over
 * existing customers is O(1). home is the initial state of the machine's
 * first definition; a later definition that changes `initial` makes new
 * customers start with an entry. The spent bit says that the armed `after`
 * transition of the current state came due and its guard failed: nothing
 * fires until activity or a state change re-arms it (DESIGN.md).
 *
 * Everything else is derived from the records and the definitions and
 * rebuilt when in doubt: per-state membership bitmaps and stage_since
 * columns (lib/query's derived indexes, synced lazily), and the timer
 * queue (timers.c). The funnel counters (funnel.c) are the only truth of
 * their own; their changes are undone through lc's undo log.
 */
#ifndef POND_LIFECYCLE_LC_H
#define POND_LIFECYCLE_LC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/map.h"
#include "core/mem.h"
#include "db/rec.h"

struct pond_db;
struct qy_query;
struct pj_value;
struct df_defs;
struct df_plan;

/* ------------------------------------------------------ record entries */

#define LC_MID_MAX 0x1FFFu  /* largest machine id (13 bits) */
#define LC_SID_MAX 0x7FFFu  /* largest state id (15 bits) */
#define LC_SPENT 0x8000u    /* key bit: the armed timer came due, guard failed */
#define LC_MAX_LIVE_MACHINES 256
#define LC_MAX_STATES 1024      /* live states of one machine */
#define LC_MAX_TRANSITIONS 4096 /* transitions of one machine */
#define LC_MAX_GEN 8            /* generations of raised events processed */
#define LC_MAX_STEPS 4096       /* transitions one dispatch may fire in all */

static inline uint32_t lc_key(uint32_t mid, uint32_t sid, int spent) {
  return CU_MACH | mid << 16 | (spent ? LC_SPENT : 0u) | sid;
}
static inline uint32_t lc_key_mid(uint32_t k) { return (k >> 16) & LC_MID_MAX; }
static inline uint32_t lc_key_sid(uint32_t k) { return k & LC_SID_MAX; }
static inline int lc_key_spent(uint32_t k) { return (k & LC_SPENT) != 0; }

/* The position of machine mid's entry in r: 1 and *pos when present, else
 * 0 and *pos where it would go. */
static inline int lc_find(const cu_rec *r, uint32_t mid, uint32_t *pos) {
  uint32_t base = CU_MACH | mid << 16;
  cu_find(r, base, pos);
  return *pos < r->n && (cu_ckeys(r)[*pos] >> 16) == (base >> 16);
}

/* --------------------------------------------------------- definitions */

typedef struct lc_state {
  char *name; /* owned; kept after the state is removed (funnel history) */
  uint32_t len;
  uint8_t live;
  int32_t entered; /* event id of stage.entered:<m>/<s>, or -1 (nobody listens) */
  int32_t armed;   /* the after-transition armed in this state, or -1 */
} lc_state;

typedef struct lc_trans {
  uint32_t to;
  uint8_t any;     /* from "*": any state other than to */
  uint32_t *from;  /* state ids (any == 0), sorted */
  uint32_t nfrom;
  int32_t ev;      /* event id, or -1 for an after-transition */
  int64_t after;   /* seconds (> 0) for an after-transition */
  char *guard_text; /* NUL-terminated, owned; NULL: no guard */
  size_t glen;
  struct qy_query *guard; /* prepared against the definitions holding it */
} lc_trans;

typedef struct lc_machine {
  char *name;
  uint32_t len;
  uint8_t live;
  lc_state *st; /* slots by state id */
  uint32_t nst;
  uint32_t initial, home;
  lc_trans *tr;
  uint32_t ntr;
  char *json; /* canonical definition (NULL when dropped) */
  size_t jlen;
} lc_machine;

/* A transition listening to an event. */
typedef struct lc_listen {
  uint32_t mid, tr;
} lc_listen;

typedef struct lc_evt {
  char *name;
  uint32_t len;
  lc_listen *l; /* by machine id, then listed order */
  uint32_t nl;
} lc_evt;

typedef struct lc_mset {
  int refs;
  lc_machine *m; /* slots by machine id */
  uint32_t nm, nlive;
  pc_strmap ids; /* live machine name -> id (keys borrowed) */
  lc_evt *ev;
  uint32_t nev;
  pc_strmap ev_ids; /* event name -> event id */
  int32_t ev_added, ev_message; /* customer.added / message, or -1 */
  uint8_t tag_events;          /* some transition listens to tag.added:/tag.removed: */
  uint8_t has_after;           /* some state arms a timer */
} lc_mset;

lc_mset *lc_mset_ref(lc_mset *s);
void lc_mset_unref(pc_mem *m, lc_mset *s);
/* The live machine named name, or NULL (and its id). */
const lc_machine *lc_machine_find(const lc_mset *s, const char *name, size_t len, uint32_t *mid);
/* The live state of machine mc named name: POND_OK and *sid, or POND_NOTFOUND. */
int lc_state_find(const lc_machine *mc, const char *name, size_t len, uint32_t *sid);
/* The event id of name, or -1. */
int32_t lc_event_find(const lc_mset *s, const char *name, size_t len);

/* pond_define's part (mdef.c). lc_check validates $.machines (structure,
 * names, states, durations, events) against the db and the document, and
 * keeps what it read in *out; lc_apply_prepare then builds the new machine
 * set for definitions nd (guards prepared against nd, cycles and removed
 * states checked, record rewrites of renamed states prepared with their
 * images); lc_apply_commit publishes (never fails). lc_plan_free always. */
typedef struct lc_plan lc_plan;
/* pond_define's view of the tags while it applies a document: tags it
 * drops are hidden, tags it creates get the ids they will have. */
typedef struct lc_view {
  int (*hidden)(void *arg, uint32_t tag);
  int (*future)(void *arg, const char *name, size_t len, uint32_t *id);
  void *arg;
} lc_view;
int lc_check(struct pond_db *db, const struct pj_value *machines, const struct df_plan *dp,
             lc_plan **out);
/* *pp may be NULL (the document has no machines): the machines defined
 * before are compiled again against nd (their guards may name what the
 * document changed). Creates *pp then. */
int lc_apply_prepare(struct pond_db *db, lc_plan **pp, struct df_defs *nd, const lc_view *view);
void lc_apply_commit(struct pond_db *db, lc_plan *p);
void lc_plan_free(pc_mem *m, lc_plan *p);

/* ---------------------------------------------------------------- runtime */

/* One pending timer: due = bucket key * LC_TQ_WIDTH + off. kind is a
 * machine id, or LC_TK_TAG | tag id for a ttl expiry. */
#define LC_TK_TAG 0x80000000u
typedef struct lc_tent {
  uint64_t cid;
  uint32_t kind;
  uint32_t off;
} lc_tent;

#define LC_TQ_SHIFT 13 /* a bucket spans 8192 s (about 2.3 h) */
#define LC_TQ_WIDTH ((int64_t)1 << LC_TQ_SHIFT)

typedef struct lc_bucket {
  int64_t key;    /* due >> LC_TQ_SHIFT */
  lc_tent *v;     /* entries; v[pos..n) pending, sorted when `sorted` */
  uint32_t n, cap, pos;
  uint8_t sorted;
  lc_tent *h; /* entries added after sorting: a binary min-heap */
  uint32_t hn, hcap;
} lc_bucket;

typedef struct lc_tq {
  lc_bucket *b; /* ascending keys */
  uint32_t nb, cb;
  uint64_t count; /* entries (pending timers, stale ones included) */
  int rebuild;    /* rebuild from the records before the next use */
  uint64_t gen;   /* db->defs_gen the queue was built for */
  int built;      /* the queue was built at least once */
  lc_tent *tmp;   /* sort scratch */
  size_t ntmp;
} lc_tq;

/* Undo entries of lc's own state (funnel counts, machine entries changed
 * under a call savepoint). */
enum { LC_U_FUNNEL = 1, LC_U_REC };
typedef struct lc_undo {
  uint64_t a;   /* LC_U_FUNNEL: funnel key; LC_U_REC: cid */
  int64_t b;    /* LC_U_FUNNEL: increments to take back; LC_U_REC: the old since */
  uint32_t key; /* LC_U_REC: the old entry key (0: there was none) */
  uint16_t mid; /* LC_U_REC: the machine */
  uint8_t kind;
} lc_undo; /* 24 bytes */

/* One transition a dispatch fired: from == LC_SID_MAX for a customer's
 * arrival in the initial state. */
typedef struct lc_step {
  uint32_t mid, from, to;
} lc_step;

typedef struct lc_rt {
  /* the dispatch in progress (dispatch.c): a copy of the customer's record
   * that guards read and transitions change, then published at once */
  cu_rec *scratch;
  uint64_t cid;
  int64_t ts;
  lc_step *steps;        /* LC_MAX_STEPS */
  uint32_t nsteps;
  uint32_t *evq;         /* (event id, generation) pairs, LC_MAX_STEPS + 1 */
  uint32_t qh, qt;
  uint32_t chg[LC_MAX_LIVE_MACHINES]; /* machines whose entry changed */
  uint32_t nchg;
  int all_timers;        /* arm every machine's timer (a new customer) */
  lc_tq tq;
  pc_map64 funnel; /* funnel key -> count (funnel.c) */
  lc_undo *log;
  size_t nlog, clog;
  char *diag; /* warnings of the last successful pond_define ("" if none) */
  size_t dlen;
} lc_rt;

/* The runtime of db, created on first use (NULL and POND_ENOMEM). */
int lc_rt_need(struct pond_db *db, lc_rt **out);
void lc_close(struct pond_db *db);

/* The machine set of db's current definitions (NULL: none). */
const lc_mset *lc_machines(const struct pond_db *db);

/* State of machine mid in record r: sid, since, spent. */
void lc_state_of(const lc_machine *mc, uint32_t mid, const cu_rec *r, uint32_t *sid,
                 int64_t *since, int *spent);

/* Hooks called by other parts (dispatch.c). All are fallible before they
 * change anything, and change nothing on failure. */
/* Creates customer cid (absent) at ts with machines defined: enters their
 * initial states, counts the arrivals, arms timers and dispatches
 * customer.added — one atomic step like db_cust_create_room. */
int lc_customer_create(struct pond_db *db, uint64_t cid, int64_t ts, cu_rec **out);
/* pond_event / pond_message with machines defined: activity (counter,
 * last_seen: db_activity_apply) and dispatch of event name. */
int lc_event(struct pond_db *db, uint64_t cid, uint32_t counter, const char *name, size_t n,
             int64_t ts);
/* Tag events of pond_tag_add / pond_tag_remove on an existing customer:
 * prepare (before the tag call) dispatches tag.added:/tag.removed: (and
 * an exclusive sibling's tag.removed:) on a copy of the record as the call
 * will leave it and reserves what publishing needs: 1 when there is
 * something to publish, 0 when not, <0 on failure (nothing changed).
 * commit (after the tag call succeeded) publishes; never fails. */
int lc_tag_prepare(struct pond_db *db, uint64_t cid, uint32_t tag, int added, int64_t ts);
void lc_tag_commit(struct pond_db *db, uint64_t cid);

/* A tag was linked to cid at ts (tags.c): a ttl group's tag arms its
 * expiry timer. Never fails: without memory the queue is rebuilt. */
void lc_ttl_linked(struct pond_db *db, uint64_t cid, uint32_t tag, int64_t ts);

/* The store's lifecycle pieces (persist.c): the machines section of the
 * definitions record (decode makes a skeleton set of the slots, checked
 * against customer entries by lc_entry_ok; lc_load_finish compiles the
 * stored definitions once every record is loaded), and the funnel
 * counters (their records, and the keys the open transaction changed). */
struct st_buf;
struct st_rd;
void lc_defs_encode(struct st_buf *b, const lc_mset *s);
int lc_defs_decode(struct st_rd *r, pc_mem *m, struct df_defs *d);
int lc_entry_ok(const struct df_defs *d, uint32_t key);
int lc_load_finish(struct pond_db *db);
int lc_funnel_load(struct pond_db *db, uint64_t key, uint64_t count, pc_err *e);
size_t lc_funnel_changed(const struct pond_db *db, uint64_t *keys, size_t cap);
uint64_t lc_funnel_count(const struct pond_db *db, uint64_t key);

/* Pending timer entries (stale ones included). */
uint64_t lc_pending_timers(const struct pond_db *db);

/* Undo (txn.c calls these for DB_U_EXT entries). */
int lc_undo_len(const struct pond_db *db);
void lc_undo_to(struct pond_db *db, uint64_t n);
void lc_undo_release(struct pond_db *db, uint64_t n);

/* timers.c */
void lc_tq_free(pc_mem *m, lc_tq *q);
/* Room for one more entry due at due (so lc_tq_push cannot fail). */
int lc_tq_reserve(pc_mem *m, lc_tq *q, int64_t due, uint32_t k);
void lc_tq_push(lc_tq *q, int64_t due, uint64_t cid, uint32_t kind);
/* The due time of machine mid's armed timer for record r: 1 and *due, or 0. */
int lc_due(const lc_machine *mc, uint32_t mid, const cu_rec *r, int64_t *due);

/* funnel.c */
uint64_t lc_funnel_key(uint32_t mid, uint32_t from, uint32_t to, int64_t day);
int64_t lc_day(int64_t ts);

#endif
