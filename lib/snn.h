/* snn-itr core library: shared types, error reporting and the ownership rule.
 *
 * Ownership rule, for every function in libsnn: the caller owns every pointer it
 * passes in and keeps owning it after the call; a function never stores a caller's
 * pointer beyond the call unless its comment states it. An object returned by a
 * snn_X_open/new/load function is released with the matching snn_X_close/free,
 * which accepts NULL.
 *
 * Errors: fallible functions return an int status (SNN_OK, or a negative SNN_E*
 * code) and, when given a non-NULL snn_error, write a one-line message into it.
 * The library never prints and never exits; programs decide what to report. */
#ifndef SNN_H
#define SNN_H

#include <stddef.h>
#include <stdint.h>

#define SNN_VERSION "0.1.0"

enum {
    SNN_OK = 0,
    SNN_EIO = -1,       /* read or write failed, or file missing */
    SNN_EFORMAT = -2,   /* input is malformed, truncated or of another kind */
    SNN_ENOMEM = -3,    /* allocation failed or a size limit was exceeded */
    SNN_EINVAL = -4,    /* invalid argument or configuration */
    SNN_EMODEL = -5,    /* input was produced by another model */
    SNN_EOF = -6,       /* clean end of input (not an error for readers) */
};

typedef struct {
    int code;
    char msg[512];
} snn_error;

/* Formats a message into err (if non-NULL) and returns code, so callers can write
 * `return snn_fail(err, SNN_EFORMAT, "%s: record %zu: bad length", path, i);`. */
int snn_fail(snn_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with "prefix: ", returning err->code. */
int snn_fail_prefix(snn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* malloc/calloc that check the size product for overflow; NULL on failure. */
void *snn_alloc(size_t count, size_t size);
void *snn_zalloc(size_t count, size_t size);

#endif
