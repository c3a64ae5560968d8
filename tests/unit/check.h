/* Minimal assertion helpers for the C unit tests. A failed check prints its place
 * and values and makes the test binary exit 1 at the end of main (CHECK_DONE). */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures;

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        check_failures++; \
    } } while (0)

#define CHECK_INT(got, want) do { \
    long long g_ = (long long)(got), w_ = (long long)(want); \
    if (g_ != w_) { \
        fprintf(stderr, "%s:%d: %s = %lld, expected %lld\n", __FILE__, __LINE__, #got, g_, w_); \
        check_failures++; \
    } } while (0)

/* Passes when |got - want| <= atol + rtol * |want|. */
#define CHECK_NEAR(got, want, atol, rtol) do { \
    double g_ = (double)(got), w_ = (double)(want); \
    if (!(fabs(g_ - w_) <= (atol) + (rtol) * fabs(w_))) { \
        fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g\n", __FILE__, __LINE__, #got, g_, w_); \
        check_failures++; \
    } } while (0)

#define CHECK_STR(got, want) do { \
    const char *g_ = (got), *w_ = (want); \
    if (!g_ || strcmp(g_, w_) != 0) { \
        fprintf(stderr, "%s:%d: %s = \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_); \
        check_failures++; \
    } } while (0)

#define CHECK_DONE() do { \
    if (check_failures) fprintf(stderr, "%s: %d checks failed\n", __FILE__, check_failures); \
    return check_failures ? 1 : 0; } while (0)

#endif
