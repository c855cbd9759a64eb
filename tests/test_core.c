/* Core utilities: the allocator hook and memory accounting, error reports. */
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "harness.h"

typedef struct failing_alloc {
  long calls, fail_at; /* fail the fail_at-th call (1-based); 0: never */
} failing_alloc;

static void *fail_alloc(void *ud, void *p, size_t o, size_t n) {
  failing_alloc *f = ud;
  (void)o;
  if (n == 0) {
    free(p);
    return NULL;
  }
  if (++f->calls == f->fail_at) return NULL;
  return realloc(p, n);
}

static void memory_accounting_tracks_every_block(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 0);
  char *a = pc_alloc(&m, 100);
  CHECK(a != NULL);
  CHECK_EQ(atomic_load(&m.used), 100);
  a = pc_realloc(&m, a, 100, 300);
  CHECK(a != NULL);
  CHECK_EQ(atomic_load(&m.used), 300);
  a = pc_realloc(&m, a, 300, 50);
  CHECK_EQ(atomic_load(&m.used), 50);
  pc_free(&m, a, 50);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void memory_limit_refuses_growth_and_keeps_block(void) {
  pc_mem m;
  pc_mem_init(&m, NULL, NULL, 1000);
  char *a = pc_alloc(&m, 600);
  REQUIRE(a != NULL);
  memset(a, 7, 600);
  CHECK(pc_alloc(&m, 500) == NULL);
  CHECK(pc_realloc(&m, a, 600, 1200) == NULL);
  CHECK_EQ(a[599], 7);
  CHECK_EQ(atomic_load(&m.used), 600);
  pc_free(&m, a, 600);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void host_allocator_failure_is_reported(void) {
  failing_alloc f = {0, 2};
  pc_mem m;
  pc_mem_init(&m, fail_alloc, &f, 0);
  void *a = pc_alloc(&m, 10);
  CHECK(a != NULL);
  CHECK(pc_alloc(&m, 10) == NULL);
  CHECK_EQ(atomic_load(&m.used), 10);
  pc_free(&m, a, 10);
  CHECK_EQ(atomic_load(&m.used), 0);
}

static void errf_formats_and_truncates(void) {
  pc_err e;
  pc_err_clear(&e);
  CHECK_EQ(e.offset, -1);
  CHECK_EQ(pc_errf(&e, POND_EINVAL, "bad %s at %d", "x", 3), POND_EINVAL);
  CHECK_STR(e.msg, "bad x at 3");
  char big[2000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  pc_errf(&e, POND_ELIMIT, "%s", big);
  CHECK_EQ(strlen(e.msg), PC_ERRMSG_MAX - 1);
}

static void strerror_names_every_code(void) {
  for (int rc = POND_EBUSY; rc <= POND_OK; rc++)
    CHECK(strcmp(pond_strerror(rc), "unknown status code") != 0);
  CHECK_STR(pond_strerror(12345), "unknown status code");
  CHECK_STR(pond_version(), POND_VERSION_STRING);
}

int main(void) {
  TH_RUN(memory_accounting_tracks_every_block);
  TH_RUN(memory_limit_refuses_growth_and_keeps_block);
  TH_RUN(host_allocator_failure_is_reported);
  TH_RUN(errf_formats_and_truncates);
  TH_RUN(strerror_names_every_code);
  return th_done();
}
