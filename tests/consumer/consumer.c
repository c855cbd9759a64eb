/* A program built against an installed or subproject pond: the public
 * header alone, a tag added and counted, the version printed. */
#include <pond.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  pond_db *db;
  if (pond_open(NULL, &db) != POND_OK) return 1;
  const char *defs = "{\"tag_groups\": [{\"name\": \"src\"}]}";
  uint32_t tag;
  uint64_t n = 0;
  int ok = pond_define(db, defs, strlen(defs)) == POND_OK && pond_customer_upsert(db, 7, 1) == POND_OK &&
           pond_tag_id(db, "src/store", &tag) == POND_OK && pond_tag_add(db, 7, tag, 2) == POND_OK &&
           pond_tag_count(db, tag, &n) == POND_OK && n == 1;
  pond_close(db);
  printf("pond %s: %s\n", pond_version(), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
