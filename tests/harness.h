/*
 * harness.h — the tiny test harness every C test uses.
 *
 *   static void exclusive_group_replaces_sibling(void) { CHECK(x == 1); }
 *   int main(int argc, char **argv) {
 *     TH_RUN(exclusive_group_replaces_sibling);
 *     return th_done();
 *   }
 *
 * Each TH_RUN is one test case; it fails when any CHECK inside it fails.
 * th_done prints "N passed, N failed" (summed over all suites by
 * scripts/test.sh) and returns the exit status. A single case can be chosen
 * with the environment variable TH_ONLY=name. TH_SEED overrides th_seed().
 */
#ifndef POND_TESTS_HARNESS_H
#define POND_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_case_failures;
static int th_passed, th_failed;

#define CHECK(c)                                                           \
  do {                                                                     \
    if (!(c)) {                                                            \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
      th_case_failures++;                                                  \
    }                                                                      \
  } while (0)

#define CHECK_EQ(a, b)                                                      \
  do {                                                                      \
    long long th_a_ = (long long)(a), th_b_ = (long long)(b);               \
    if (th_a_ != th_b_) {                                                   \
      fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n",     \
              __FILE__, __LINE__, #a, #b, th_a_, th_b_);                    \
      th_case_failures++;                                                   \
    }                                                                       \
  } while (0)

#define CHECK_STR(a, b)                                                      \
  do {                                                                       \
    const char *th_a_ = (a), *th_b_ = (b);                                   \
    if (!th_a_ || !th_b_ || strcmp(th_a_, th_b_) != 0) {                     \
      fprintf(stderr, "%s:%d: CHECK_STR(%s, %s) failed:\n  got  \"%s\"\n  want \"%s\"\n", \
              __FILE__, __LINE__, #a, #b, th_a_ ? th_a_ : "(null)",          \
              th_b_ ? th_b_ : "(null)");                                     \
      th_case_failures++;                                                    \
    }                                                                        \
  } while (0)

/* CHECK that string a contains b. */
#define CHECK_HAS(a, b)                                                        \
  do {                                                                         \
    const char *th_a_ = (a), *th_b_ = (b);                                     \
    if (!th_a_ || !th_b_ || !strstr(th_a_, th_b_)) {                           \
      fprintf(stderr, "%s:%d: CHECK_HAS(%s, %s) failed:\n  in   \"%s\"\n  want \"%s\"\n", \
              __FILE__, __LINE__, #a, #b, th_a_ ? th_a_ : "(null)",            \
              th_b_ ? th_b_ : "(null)");                                       \
      th_case_failures++;                                                      \
    }                                                                          \
  } while (0)

/* Abort the current case (from the case function itself). */
#define REQUIRE(c)                                                           \
  do {                                                                       \
    if (!(c)) { /* evaluated once: c may have side effects */                \
      fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #c); \
      th_case_failures++;                                                    \
      return;                                                                \
    }                                                                        \
  } while (0)

static inline void th_run(const char *name, void (*fn)(void)) {
  const char *only = getenv("TH_ONLY");
  if (only && strcmp(only, name) != 0) return;
  th_case_failures = 0;
  fn();
  if (th_case_failures) {
    th_failed++;
    printf("FAIL %s\n", name);
  } else {
    th_passed++;
    printf("ok   %s\n", name);
  }
  fflush(stdout);
}

#define TH_RUN(fn) th_run(#fn, fn)

static inline int th_done(void) {
  printf("%d passed, %d failed\n", th_passed, th_failed);
  return th_failed ? 1 : 0;
}

/* The seed of randomized tests: TH_SEED or a fixed default; printed so that
 * a failure can be replayed. */
static inline uint64_t th_seed(uint64_t dflt) {
  const char *s = getenv("TH_SEED");
  uint64_t v = s ? strtoull(s, NULL, 0) : dflt;
  printf("seed %" PRIu64 " (replay with TH_SEED=%" PRIu64 ")\n", v, v);
  return v;
}

/* splitmix64: a small deterministic PRNG for tests. */
static inline uint64_t th_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* An integer env var (e.g. a longer mode's iteration count) or dflt. */
static inline long th_env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  return s ? strtol(s, NULL, 0) : dflt;
}

#endif
