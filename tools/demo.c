/*
 * demo.c — `pond demo`: a realistic tenant on generated data.
 *
 * 1,000,000 customers (by default) arrive over 90 simulated days through
 * acquisition channels; each is tagged from 8 tag groups whose tag popularity
 * follows a Zipf law (one exclusive group: follow-up status). Day by day the
 * operators' work is replayed in one transaction per day: new customers,
 * interests, intents, follow-up status changes, campaign tags, a bulk import.
 * Customers move through the lifecycle machine of DEFINITIONS.md (new →
 * intent → paying → repeat, silent after 30 days without activity, churned
 * 45 days later, back to intent on a message) on their orders, chats and
 * silence; the host ticks as simulated time passes. At the end it prints
 * per-tag counts, the funnel with conversion rates, the sizes of a few
 * realistic segment queries, memory per customer and throughput.
 *
 * Everything goes through the public API (pond.h), as a host would do it.
 */
#include "demo.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#define DAY 86400

typedef struct zipf {
  double *cdf;
  int n;
} zipf;

typedef struct group_spec {
  const char *name;
  int exclusive;
  const char *ttl;
  const char *const *tags;
  int ntags;
  double s; /* Zipf exponent */
} group_spec;

static const char *const src_tags[] = {"门店扫码", "企业微信活码", "直播", "广告投放",
                                       "公众号", "朋友推荐", "小程序", "电商平台"};
static const char *const follow_tags[] = {"待跟进", "跟进中", "已成交", "已流失", "免打扰"};
static const char *const intent_tags[] = {"问价", "比价", "预约到店", "申请试用", "咨询售后", "要优惠券"};
static const char *const interest_tags[] = {"护肤", "彩妆", "香水", "母婴", "数码", "家居",
                                            "运动户外", "食品生鲜", "宠物", "图书", "服饰", "珠宝"};
static const char *const tier_tags[] = {"普通会员", "银卡", "金卡", "钻石"};
static const char *const campaign_tags[] = {"双11预热", "618大促", "新品试用", "会员日", "年货节", "开学季"};
static const char *const content_tags[] = {"图文", "短视频", "直播回放", "优惠券", "社群活动"};
static char store_names[60][16];
static const char *store_tags[60];

/* The groups, in the order the report prints them. */
enum { G_SRC, G_STORE, G_FOLLOW, G_INTENT, G_INTEREST, G_TIER, G_CAMPAIGN, G_CONTENT, NGROUPS };

static group_spec groups[NGROUPS] = {
    {"来源", 0, NULL, src_tags, 8, 1.1},
    {"门店", 0, NULL, store_tags, 60, 1.0},
    {"跟进状态", 1, NULL, follow_tags, 5, 0.8},
    {"意向", 0, NULL, intent_tags, 6, 1.2},
    {"兴趣", 0, NULL, interest_tags, 12, 1.0},
    {"会员等级", 1, NULL, tier_tags, 4, 1.5},
    {"活动", 0, "30d", campaign_tags, 6, 0.9},
    {"内容偏好", 0, NULL, content_tags, 5, 1.1},
};

static const char *const regions[] = {"广东省广州市", "广东省深圳市", "上海市", "北京市", "浙江省杭州市",
                                      "四川省成都市", "湖北省武汉市", "江苏省南京市", "福建省厦门市", "重庆市"};
static const char *const owners[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"};

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) / 9007199254740992.0; }

static int zipf_init(zipf *z, int n, double s) {
  z->cdf = malloc(sizeof(double) * (size_t)n);
  if (!z->cdf) return -1;
  z->n = n;
  double sum = 0;
  for (int k = 0; k < n; k++) sum += 1.0 / pow(k + 1, s);
  double acc = 0;
  for (int k = 0; k < n; k++) {
    acc += 1.0 / pow(k + 1, s) / sum;
    z->cdf[k] = acc;
  }
  z->cdf[n - 1] = 1.0;
  return 0;
}

static int zipf_draw(const zipf *z, uint64_t *rng) {
  double u = rng_unit(rng);
  int lo = 0, hi = z->n - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (z->cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(pond_db *db, const char *what, int rc) {
  fprintf(stderr, "pond demo: %s: %s (%s)\n", what, pond_strerror(rc), db ? pond_errmsg(db) : pond_errmsg(NULL));
  return 1;
}

#define CK(what, expr)                     \
  do {                                     \
    int rc_ = (expr);                      \
    if (rc_ < 0) return fail(db, what, rc_); \
  } while (0)

/* The definitions document, built from the group table. */
static char *definitions(void) {
  size_t cap = 16384, len = 0;
  char *d = malloc(cap);
  if (!d) return NULL;
  len += (size_t)snprintf(d + len, cap - len,
                          "{\"attributes\": [{\"name\": \"region\", \"type\": \"string\"},"
                          " {\"name\": \"owner\", \"type\": \"string\"},"
                          " {\"name\": \"spend\", \"type\": \"int\"},"
                          " {\"name\": \"vip\", \"type\": \"bool\"}],\n \"tag_groups\": [");
  for (int g = 0; g < NGROUPS; g++) {
    len += (size_t)snprintf(d + len, cap - len, "%s\n  {\"name\": \"%s\"%s", g ? "," : "",
                            groups[g].name, groups[g].exclusive ? ", \"exclusive\": true" : "");
    if (groups[g].ttl) len += (size_t)snprintf(d + len, cap - len, ", \"ttl\": \"%s\"", groups[g].ttl);
    len += (size_t)snprintf(d + len, cap - len, ", \"tags\": [");
    for (int t = 0; t < groups[g].ntags; t++)
      len += (size_t)snprintf(d + len, cap - len, "%s\"%s\"", t ? ", " : "", groups[g].tags[t]);
    len += (size_t)snprintf(d + len, cap - len, "]}");
  }
  snprintf(d + len, cap - len,
           "],\n \"counters\": [\"order.paid\", \"message\"],\n"
           " \"machines\": [{\"name\": \"lifecycle\", \"initial\": \"new\","
           " \"states\": [\"new\", \"intent\", \"paying\", \"repeat\", \"silent\", \"churned\"],"
           " \"transitions\": ["
           "{\"from\": \"new\", \"to\": \"intent\", \"on\": \"tag.added:意向/问价\"},"
           "{\"from\": [\"new\", \"intent\"], \"to\": \"paying\", \"on\": \"order.paid\"},"
           "{\"from\": \"paying\", \"to\": \"repeat\", \"on\": \"order.paid\", \"if\": \"count('order.paid') >= 2\"},"
           "{\"from\": [\"new\", \"intent\", \"paying\", \"repeat\"], \"to\": \"silent\", \"after\": \"30d\"},"
           "{\"from\": \"silent\", \"to\": \"churned\", \"after\": \"45d\"},"
           "{\"from\": [\"silent\", \"churned\"], \"to\": \"intent\", \"on\": \"message\"}]}]}\n");
  return d;
}

static void progress(int on, int day, int days, uint64_t customers, double t0) {
  if (!on) return;
  int width = 30, filled = (int)((long)width * day / days);
  fprintf(stderr, "\r  day %2d/%d [", day, days);
  for (int i = 0; i < width; i++) fputc(i < filled ? '#' : ' ', stderr);
  fprintf(stderr, "] %9" PRIu64 " customers  %5.1fs", customers, now_s() - t0);
  fflush(stderr);
}

/* Prints s left-aligned in `cols` terminal columns: CJK and full-width
 * characters take two columns, so printf's byte-counting %-26s would not
 * line the table up. */
static void put_col(const char *s, int cols) {
  int w = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    unsigned c = *p;
    int len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    unsigned cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (int i = 1; i < len && p[i]; i++) cp = cp << 6 | (p[i] & 0x3f);
    w += (cp >= 0x1100 && (cp <= 0x115f || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
                           (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
                           (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6)))
             ? 2
             : 1;
    for (int i = 0; i < len && *p; i++) p++;
  }
  fputs(s, stdout);
  for (; w < cols; w++) putchar(' ');
}

/* Bytes of the regular files in dir. */
static uint64_t dir_bytes(const char *dir) {
  uint64_t n = 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  char path[4096];
  struct stat st;
  while ((e = readdir(d)))
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path && stat(path, &st) == 0 &&
        S_ISREG(st.st_mode))
      n += (uint64_t)st.st_size;
  closedir(d);
  return n;
}

/* The durable half of the demo: the file store is opened again, as the
 * host would after a restart, and must hold the same tenant. */
static int reopen(const char *path, uint64_t ncust, const char *query, int64_t now) {
  double t0 = now_s();
  pond_db *db = NULL;
  int rc = pond_open_path(path, 0, &db);
  if (rc < 0) return fail(NULL, "reopen", rc);
  double t_open = now_s() - t0;
  uint64_t n = pond_customer_count(db);
  pond_query *q = NULL;
  pond_set *s = NULL;
  CK("reopen query", pond_query_prepare(db, query, POND_NTS, &q));
  CK("reopen query", pond_query_eval(q, now, &s));
  printf("\nfile store %s: %.1f MiB on disk (%.0f bytes per customer); reopened in %.2f s with %" PRIu64
         " customers%s\n",
         path, (double)dir_bytes(path) / 1048576.0, ncust ? (double)dir_bytes(path) / (double)ncust : 0, t_open, n,
         n == ncust ? "" : " (MISMATCH)");
  printf("  %s -> %" PRIu64 " customers after reopening\n", query, pond_set_count(s));
  pond_set_free(s);
  pond_query_free(q);
  pond_close(db);
  return n == ncust ? 0 : 1;
}

int pond_demo(const demo_options *o) {
  pond_db *db = NULL;
  uint64_t rng = o->seed;
  int rc = o->path ? pond_open_path(o->path, POND_NOSYNC, &db) : pond_open(NULL, &db);
  if (rc < 0) return fail(NULL, "open", rc);

  for (int i = 0; i < 60; i++) {
    snprintf(store_names[i], sizeof store_names[i], "门店%03d", i + 1);
    store_tags[i] = store_names[i];
  }
  char *doc = definitions();
  if (!doc) return fail(db, "definitions", POND_ENOMEM);
  rc = pond_define(db, doc, strlen(doc));
  free(doc);
  CK("define", rc);

  /* Resolve every tag id once, as a host would cache them. */
  uint32_t ids[NGROUPS][64];
  zipf z[NGROUPS];
  for (int g = 0; g < NGROUPS; g++) {
    if (zipf_init(&z[g], groups[g].ntags, groups[g].s) < 0) return fail(db, "zipf", POND_ENOMEM);
    for (int t = 0; t < groups[g].ntags; t++) {
      char name[160];
      snprintf(name, sizeof name, "%s/%s", groups[g].name, groups[g].tags[t]);
      CK(name, pond_tag_id(db, name, &ids[g][t]));
    }
  }

  int tty = isatty(2) && !getenv("CI");
  const int64_t t_start = 1767225600; /* 2026-01-01T00:00:00Z */
  uint64_t next_cid = 10000001, tag_adds = 0, calls = 0, events = 0;
  double t0 = now_s(), t_tag = 0, t_tick = 0;
  printf("pond %s demo: %" PRIu64 " customers over %d days, %d tag groups\n", pond_version(),
         o->customers, o->days, NGROUPS);

  for (int day = 0; day < o->days; day++) {
    int64_t base = t_start + (int64_t)day * DAY;
    uint64_t arrive = o->customers / (uint64_t)o->days + (day < (int)(o->customers % (uint64_t)o->days));
    uint64_t first = next_cid;
    double t1 = now_s();
    CK("begin", pond_begin(db));
    for (uint64_t i = 0; i < arrive; i++) {
      uint64_t cid = next_cid++;
      int64_t ts = base + (int64_t)(rng_next(&rng) % DAY);
      CK("upsert", pond_customer_upsert(db, cid, ts));
      int src = zipf_draw(&z[G_SRC], &rng);
      CK("tag", pond_tag_add(db, cid, ids[G_SRC][src], ts));
      tag_adds++;
      if (src == 0) { /* scanned at a store */
        CK("tag", pond_tag_add(db, cid, ids[G_STORE][zipf_draw(&z[G_STORE], &rng)], ts));
        tag_adds++;
      }
      CK("tag", pond_tag_add(db, cid, ids[G_FOLLOW][0], ts)); /* 待跟进 */
      CK("tag", pond_tag_add(db, cid, ids[G_TIER][0], ts));
      tag_adds += 2;
      int ni = 1 + (int)(rng_next(&rng) % 3);
      for (int k = 0; k < ni; k++) {
        CK("tag", pond_tag_add(db, cid, ids[G_INTEREST][zipf_draw(&z[G_INTEREST], &rng)], ts));
        tag_adds++;
      }
      if (rng_unit(&rng) < 0.4) {
        CK("tag", pond_tag_add(db, cid, ids[G_CONTENT][zipf_draw(&z[G_CONTENT], &rng)], ts));
        tag_adds++;
      }
      CK("attr", pond_attr_set_str(db, cid, "region", regions[rng_next(&rng) % 10]));
      CK("attr", pond_attr_set_str(db, cid, "owner", owners[rng_next(&rng) % 8]));
      calls += 7;
    }
    /* Follow-up work on customers who arrived earlier: chats reveal intent,
     * owners move follow-up status, some buy and climb tiers. */
    uint64_t known = next_cid - 10000001;
    uint64_t touches = arrive / 2;
    /* The day's activity in time order; timers due by then fire first (the
     * host ticks as its clock moves, every 1,000 events and at day end). */
    for (uint64_t i = 0; i < touches && known; i++) {
      /* recent customers are the active ones: a skew towards new ids */
      double age = rng_unit(&rng);
      uint64_t cid = 10000001 + (uint64_t)((double)known * (1.0 - age * age * age)) % known;
      int64_t ts = base + (int64_t)(i * (uint64_t)DAY / (touches + 1));
      if (i % 1000 == 0) {
        double tk = now_s();
        CK("tick", pond_tick(db, ts));
        t_tick += now_s() - tk;
      }
      double u = rng_unit(&rng);
      if (u < 0.25) { /* a chat: activity, and the way back from silence */
        CK("message", pond_message(db, cid, "在吗？这个多少钱", POND_NTS, ts));
        events++;
        calls++;
      } else if (u < 0.45) {
        CK("tag", pond_tag_add(db, cid, ids[G_INTENT][zipf_draw(&z[G_INTENT], &rng)], ts));
        CK("tag", pond_tag_add(db, cid, ids[G_FOLLOW][1], ts)); /* 跟进中 */
        tag_adds += 2;
      } else if (u < 0.60) {
        CK("event", pond_event(db, cid, "order.paid", ts)); /* an order: paying, then repeat */
        events++;
        CK("tag", pond_tag_add(db, cid, ids[G_FOLLOW][2], ts)); /* 已成交 */
        CK("tag", pond_tag_add(db, cid, ids[G_TIER][1 + zipf_draw(&z[G_TIER], &rng) % 3], ts));
        CK("attr", pond_attr_set_int(db, cid, "spend", 100 + (int64_t)(rng_next(&rng) % 20000)));
        tag_adds += 2;
      } else if (u < 0.70) {
        CK("tag", pond_tag_add(db, cid, ids[G_FOLLOW][3 + (int)(rng_next(&rng) % 2)], ts));
        tag_adds++;
      } else {
        CK("tag", pond_tag_add(db, cid, ids[G_CONTENT][zipf_draw(&z[G_CONTENT], &rng)], ts));
        tag_adds++;
      }
      calls += 2;
    }
    {
      double tk = now_s();
      CK("tick", pond_tick(db, base + DAY - 1));
      t_tick += now_s() - tk;
    }
    CK("commit", pond_commit(db));
    /* A campaign every 15 days: operators bulk-tag an imported list. */
    if (day % 15 == 7 && known) {
      size_t n = (size_t)(known / 5);
      uint64_t *list = malloc(n * sizeof *list);
      if (!list) return fail(db, "campaign list", POND_ENOMEM);
      for (size_t i = 0; i < n; i++) list[i] = 10000001 + rng_next(&rng) % known;
      CK("tag_add_many", pond_tag_add_many(db, ids[G_CAMPAIGN][(day / 15) % 6], list, n, base + 36000));
      tag_adds += n;
      calls++;
      free(list);
    }
    t_tag += now_s() - t1;
    (void)first;
    progress(tty, day + 1, o->days, pond_customer_count(db), t0);
  }
  if (tty) fputc('\n', stderr);
  double elapsed = now_s() - t0;

  uint64_t ncust = pond_customer_count(db), memberships = 0;
  printf("\n%-28s %12s %8s\n", "tag", "customers", "share");
  for (int g = 0; g < NGROUPS; g++) {
    printf("%s%s%s\n", groups[g].name, groups[g].exclusive ? "  (exclusive)" : "",
           groups[g].ttl ? "  (ttl 30d)" : "");
    int shown = 0;
    for (int t = 0; t < groups[g].ntags; t++) {
      uint64_t n = 0;
      CK("count", pond_tag_count(db, ids[g][t], &n));
      memberships += n;
      if (shown++ < 8 || o->verbose) {
        printf("  ");
        put_col(groups[g].tags[t], 26);
        printf(" %12" PRIu64 " %7.2f%%\n", n, ncust ? 100.0 * (double)n / (double)ncust : 0);
      }
    }
    if (shown > 8 && !o->verbose) printf("  … %d more tags (--verbose shows all)\n", shown - 8);
  }

  /* Segments by set algebra over tag snapshots. */
  pond_set *store = NULL, *ask = NULL, *deal = NULL, *a = NULL, *b = NULL;
  CK("members", pond_tag_members(db, ids[G_SRC][0], &store));
  CK("members", pond_tag_members(db, ids[G_INTENT][0], &ask));
  CK("members", pond_tag_members(db, ids[G_FOLLOW][2], &deal));
  double ts0 = now_s();
  CK("and", pond_set_op(db, POND_AND, store, ask, &a));
  CK("andnot", pond_set_op(db, POND_ANDNOT, a, deal, &b));
  double tseg = now_s() - ts0;
  printf("\nsegment: 来源/门店扫码 AND 意向/问价 AND NOT 跟进状态/已成交 -> %" PRIu64 " customers (%.3f ms)\n",
         pond_set_count(b), tseg * 1e3);
  uint64_t page[5];
  size_t got = pond_set_page(b, 0, page, 5);
  printf("  first ids:");
  for (size_t i = 0; i < got; i++) printf(" %" PRIu64, page[i]);
  printf("\n");
  size_t ser = 0;
  CK("serialize", pond_set_serialize(b, NULL, 0, &ser));
  printf("  as Roaring portable bytes: %zu\n", ser);
  pond_set_free(store); pond_set_free(ask); pond_set_free(deal); pond_set_free(a); pond_set_free(b);

  /* The lifecycle funnel over the simulated days, with conversion rates
   * (the clock at the end of the period first). */
  const int64_t t_end = t_start + (int64_t)o->days * DAY;
  CK("tick", pond_tick(db, t_end));
  pond_funnel_row *rows = NULL;
  size_t nrows = 0;
  CK("funnel", pond_funnel(db, "lifecycle", t_start, t_end, &rows, &nrows));
  printf("\nlifecycle funnel, %d days      customers now    entered\n", o->days);
  for (size_t i = 0; i < nrows; i++)
    if (rows[i].kind == POND_FUNNEL_STATE)
      printf("  %-26s %12" PRIu64 " %10" PRIu64 "  (%5.1f%% of customers)\n", rows[i].to, rows[i].count,
             rows[i].entered, 100.0 * rows[i].rate);
  printf("  moves                          count  conversion\n");
  for (size_t i = 0; i < nrows; i++)
    if (rows[i].kind == POND_FUNNEL_STEP)
      printf("  %-10s -> %-10s %12" PRIu64 "  %6.1f%%\n", rows[i].from ? rows[i].from : "(added)", rows[i].to,
             rows[i].count, 100.0 * rows[i].rate);
  pond_funnel_free(db, rows);

  /* Segments an operator would run at the end of the period. */
  static const char *const queries[] = {
      "stage('lifecycle') = 'silent' AND NOT tag('跟进状态/已成交')",
      "stage('lifecycle') IN ('intent', 'paying') AND tag('来源/门店扫码')",
      "stage('lifecycle') = 'repeat' AND spend >= 5000",
      "stage('lifecycle') = 'churned' AND stage_since('lifecycle') >= now() - 30d",
      "count('order.paid') >= 2 AND last_seen < now() - 14d AND region LIKE '广东%'",
      "stage('lifecycle') = 'intent' AND tag('意向/问价') AND owner = 'alice'",
  };
  printf("\nsegment queries at day %d (the first run builds derived columns)\n  ", o->days);
  put_col("", 76);
  printf(" %10s %7s %7s\n", "customers", "first", "again");
  for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
    pond_query *q = NULL;
    pond_set *s = NULL;
    CK(queries[i], pond_query_prepare(db, queries[i], POND_NTS, &q));
    double tq0 = now_s();
    CK(queries[i], pond_query_eval(q, t_end, &s));
    double tq = now_s() - tq0;
    pond_set_free(s);
    s = NULL;
    tq0 = now_s();
    CK(queries[i], pond_query_eval(q, t_end, &s));
    double tq2 = now_s() - tq0;
    printf("  ");
    put_col(queries[i], 76);
    printf(" %10" PRIu64 " %7.2f %7.2f ms\n", pond_set_count(s), tq * 1e3, tq2 * 1e3);
    pond_set_free(s);
    pond_query_free(q);
  }

  size_t mem = pond_memory_used(db);
  printf("\ncustomers           %12" PRIu64 "\n", ncust);
  printf("tag memberships     %12" PRIu64 " (%.2f per customer)\n", memberships, ncust ? (double)memberships / (double)ncust : 0);
  printf("memory              %12.1f MiB (%.1f bytes per customer, %.1f per membership)\n",
         (double)mem / 1048576.0, ncust ? (double)mem / (double)ncust : 0,
         memberships ? (double)mem / (double)memberships : 0);
  printf("tag adds            %12" PRIu64 " in %.2f s of simulated days (%.2f M tag adds/s, %" PRIu64 " API calls)\n",
         tag_adds, t_tag, t_tag > 0 ? (double)tag_adds / t_tag / 1e6 : 0, calls);
  printf("events              %12" PRIu64 " (orders and chats through the machine), ticks %.2f s\n", events, t_tick);
  printf("total time          %12.2f s\n", elapsed);
  for (int g = 0; g < NGROUPS; g++) free(z[g].cdf);
  pond_close(db);
  if (o->path) return reopen(o->path, ncust, queries[0], t_end);
  return 0;
}
