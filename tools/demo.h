#ifndef POND_TOOLS_DEMO_H
#define POND_TOOLS_DEMO_H
#include <stdint.h>

#include "pond.h"

typedef struct demo_options {
  uint64_t customers;
  int days;
  uint64_t seed;
  const char *path; /* NULL: in memory */
  int verbose;
} demo_options;

int pond_demo(const demo_options *o);
#endif
