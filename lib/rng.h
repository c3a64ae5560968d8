/* A seeded pseudo-random generator (xoshiro256**, seeded through splitmix64), so
 * training is reproducible across machines for the same seed. */
#ifndef SNN_RNG_H
#define SNN_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } snn_rng;

void snn_rng_seed(snn_rng *r, uint64_t seed);
uint64_t snn_rng_next(snn_rng *r);
/* Uniform in [0, 1). */
double snn_rng_uniform(snn_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t snn_rng_below(snn_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double snn_rng_normal(snn_rng *r);

#endif
