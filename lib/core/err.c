#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

void pc_err_clear(pc_err *e) {
  e->code = POND_OK;
  e->offset = -1;
  e->msg[0] = 0;
}

int pc_errf(pc_err *e, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  e->code = code;
  return code;
}

const char *pond_strerror(int rc) {
  switch (rc) {
    case POND_OK: return "ok";
    case POND_NOTFOUND: return "not found";
    case POND_EINVAL: return "invalid argument";
    case POND_ENOMEM: return "out of memory";
    case POND_EPARSE: return "parse error";
    case POND_ELIMIT: return "limit exceeded";
    case POND_ECONFLICT: return "conflict";
    case POND_ESTORAGE: return "storage failure";
    case POND_ECORRUPT: return "corrupt data";
    case POND_EMISUSE: return "library misuse";
    case POND_EBUSY: return "database is locked by another opener";
    default: return "unknown status code";
  }
}

const char *pond_version(void) { return POND_VERSION_STRING; }
