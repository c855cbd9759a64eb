/*
 * pond.c — the command-line tool. Subcommands:
 *   pond demo [--customers N] [--days D] [--seed S] [--path DIR] [--verbose]
 *   pond version
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "pond.h"

static int usage(void) {
  fprintf(stderr,
          "usage: pond demo [--customers N] [--days D] [--seed S] [--path DIR] [--verbose]\n"
          "       pond version\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  if (strcmp(argv[1], "version") == 0) {
    printf("pond %s\n", pond_version());
    return 0;
  }
  if (strcmp(argv[1], "demo") != 0) return usage();
  demo_options o = {1000000, 90, 42, NULL, 0};
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--verbose") == 0) { o.verbose = 1; continue; }
    if (!v) return usage();
    if (strcmp(a, "--customers") == 0) o.customers = strtoull(v, NULL, 10);
    else if (strcmp(a, "--days") == 0) o.days = atoi(v);
    else if (strcmp(a, "--seed") == 0) o.seed = strtoull(v, NULL, 10);
    else if (strcmp(a, "--path") == 0) o.path = v;
    else return usage();
    i++;
  }
  if (o.days <= 0 || o.customers == 0) return usage();
  return pond_demo(&o);
}
