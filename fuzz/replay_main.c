/*
 * replay_main.c — runs a libFuzzer target over its corpus without libFuzzer,
 * so every build (gcc included) replays the seed corpus as an ordinary test.
 * Arguments: files or directories (not recursive). A crash or sanitizer report
 * fails the test; otherwise it prints "N passed, 0 failed" (one per input).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap *= 2);
      if (!nb) { free(buf); buf = NULL; }
      else buf = nb;
    }
  }
  fclose(f);
  if (!buf) return -1;
  /* Copy into an exact-size block so ASan catches reads past the input. */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) { free(buf); return -1; }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

int main(int argc, char **argv) {
  long n = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) { fprintf(stderr, "cannot stat %s\n", argv[i]); bad++; continue; }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i]) == 0) n++; else bad++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) { bad++; continue; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      if (run_file(path) == 0) n++; else { fprintf(stderr, "cannot read %s\n", path); bad++; }
    }
    closedir(d);
  }
  printf("%ld passed, %ld failed\n", n, bad);
  return bad ? 1 : 0;
}
