/* Helpers for the layer tests: a seeded random fill and a check of analytic
 * gradients against central finite differences of a scalar loss. */
#ifndef GRADCHECK_H
#define GRADCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

static uint64_t gradcheck_rng = 0x9e3779b97f4a7c15u;

/* Uniform in [lo, hi) from a 64-bit xorshift, the same sequence on every run. */
static inline float rand_uniform(float lo, float hi)
{
    gradcheck_rng ^= gradcheck_rng << 13;
    gradcheck_rng ^= gradcheck_rng >> 7;
    gradcheck_rng ^= gradcheck_rng << 17;
    return lo + (hi - lo) * (float)((gradcheck_rng >> 40) / 16777216.0);
}

static inline void fill_uniform(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = rand_uniform(lo, hi);
}

/* sum(weight .* out) in double: the scalar loss whose gradient with respect to
 * out is `weight`, so backward is called with dout = weight. */
static inline double weighted_sum(const float *weight, const float *out, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)weight[i] * out[i];
    return sum;
}

/* Runs the forward on the current inputs and returns the scalar loss. */
typedef double (*loss_fn)(void *ctx);

/* Compares grad[i] with (L(x+h) - L(x-h)) / (2h) for every i < n, where the
 * loss reads x through ctx. The step actually taken in float is used as the
 * divisor. Passes when |grad - fd| <= atol + rtol*|fd|; prints at most 5
 * mismatches per tensor, and with GRADCHECK_VERBOSE set in the environment the
 * largest difference of every tensor. */
static inline void check_grad(const char *name, float *x, size_t n, const float *grad,
                       loss_fn loss, void *ctx, float h, double atol, double rtol)
{
    int printed = 0;
    double max_diff = 0.0;

    for (size_t i = 0; i < n; i++) {
        float saved = x[i];
        float up = saved + h, down = saved - h;

        x[i] = up;
        double lp = loss(ctx);
        x[i] = down;
        double lm = loss(ctx);
        x[i] = saved;

        double fd = (lp - lm) / ((double)up - (double)down);
        if (fabs(grad[i] - fd) > max_diff)
            max_diff = fabs(grad[i] - fd);
        if (fabs(grad[i] - fd) <= atol + rtol * fabs(fd))
            continue;
        check_failures++;
        if (printed++ < 5)
            fprintf(stderr, "%s[%zu]: analytic %.9g, finite difference %.9g\n",
                    name, i, grad[i], fd);
    }
    if (getenv("GRADCHECK_VERBOSE"))
        fprintf(stderr, "%s: max |analytic - finite difference| = %.3g\n", name, max_diff);
}

/* Backward functions add into their outputs: after a second identical call,
 * `twice` must hold 2*once. The second call rounds its partial sums onto a
 * nonzero start, so the tolerance is relative to the largest element. */
static inline void check_doubled(const char *name, const float *once, const float *twice,
                                 size_t n)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(once[i]) > scale)
            scale = fabs(once[i]);

    for (size_t i = 0; i < n; i++) {
        if (fabs(twice[i] - 2.0 * once[i]) <= 1e-5 * scale)
            continue;
        check_failures++;
        fprintf(stderr, "%s[%zu]: %.9g after two backward calls, expected 2 * %.9g\n",
                name, i, twice[i], once[i]);
        return;
    }
}

#endif
