/* Epoch order and batches of (image, caption) pairs from distinct groups, so no
 * in-batch negative is a true match. */
#ifndef SNN_TRAIN_BATCHES_H
#define SNN_TRAIN_BATCHES_H

#include <stdint.h>

#include "pairs.h"
#include "rng.h"

typedef struct {
    int *order;   /* caption indices in epoch order */
    int n, next;  /* captions in order, first not yet used */
    int *stamp;   /* per group: last batch number that used it */
    int batch_no;
    snn_rng rng;
} batch_iter;

int batches_start(batch_iter *it, const snn_pairs *p, uint64_t seed, long epoch);
/* Fills caps and imgs with up to B pairs; returns the count (0 at the end). */
int batches_next(batch_iter *it, const snn_pairs *p, int B, int *caps, int *imgs);
void batches_free(batch_iter *it);

#endif
