/*
 * set_seeds.c — writes the seed corpus of fuzz_set (fuzz/corpus/set/) from
 * bitmaps serialized by CRoaring itself (libroaring-dev), so the fuzzer
 * starts from real third-party bytes: empty, array, bitset and run
 * containers, many containers (offset headers), and 64-bit buckets built
 * from CRoaring's 32-bit bytes. Each file starts with the fuzzer's mode
 * byte. Not part of the build; regenerate with
 *   cc -O1 fuzz/seeds/set_seeds.c -lroaring -o /tmp/set_seeds && /tmp/set_seeds fuzz/corpus/set
 */
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void emit(const char *dir, const char *name, unsigned mode, const void *p, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  fputc((int)mode, f);
  fwrite(p, 1, n, f);
  fclose(f);
}

static size_t ser(roaring_bitmap_t *r, char **out) {
  size_t n = roaring_bitmap_portable_size_in_bytes(r);
  *out = malloc(n);
  roaring_bitmap_portable_serialize(r, *out);
  return n;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "fuzz/corpus/set";
  char *b;
  size_t n;
  uint64_t s = 1;
  roaring_bitmap_t *r = roaring_bitmap_create();
  n = ser(r, &b);
  emit(dir, "empty", 0, b, n);
  free(b);
  for (uint32_t i = 0; i < 20; i++) roaring_bitmap_add(r, i * 37);
  n = ser(r, &b);
  emit(dir, "array", 0, b, n);
  emit(dir, "array-32", 2, b, n);
  free(b);
  for (uint32_t i = 0; i < 9000; i++) roaring_bitmap_add(r, 70000 + i * 3);
  n = ser(r, &b);
  emit(dir, "array-bitset", 0, b, n);
  free(b);
  roaring_bitmap_add_range(r, 200000, 260000);
  roaring_bitmap_add_range(r, 300000, 300010);
  roaring_bitmap_run_optimize(r);
  n = ser(r, &b);
  emit(dir, "array-bitset-runs", 0, b, n);
  emit(dir, "array-bitset-runs-nomem", 4, b, n);
  free(b);
  roaring_bitmap_free(r);
  r = roaring_bitmap_create();
  for (int i = 0; i < 40; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    roaring_bitmap_add(r, (uint32_t)(s >> 32));
  }
  n = ser(r, &b);
  emit(dir, "sparse-offsets", 0, b, n);
  /* the same as one 64-bit bucket, and two buckets */
  {
    size_t m = 8 + 4 + n + 4 + n;
    unsigned char *w = calloc(1, m);
    w[0] = 1;
    memcpy(w + 12, b, n);
    emit(dir, "wide-one-bucket", 1, w, 8 + 4 + n);
    w[0] = 2;
    w[12 + n] = 7; /* high key 7 */
    memcpy(w + 16 + n, b, n);
    emit(dir, "wide-two-buckets", 0, w, m);
    free(w);
  }
  free(b);
  roaring_bitmap_free(r);
  r = roaring_bitmap_from_range(0, 65536 * 3, 1);
  roaring_bitmap_run_optimize(r);
  n = ser(r, &b);
  emit(dir, "full-runs", 0, b, n);
  free(b);
  roaring_bitmap_free(r);
  return 0;
}
