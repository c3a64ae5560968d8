/* Batches of (image, caption) pairs through the model's fusion modules, and
 * the two outputs: fused token embeddings as a stream, or one fused score per
 * pair as TSV. */
#ifndef SNN_FUSE_BATCH_H
#define SNN_FUSE_BATCH_H

#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "items.h"
#include "model.h"
#include "stream.h"

enum { FUSE_SIDE_IMAGE = 1, FUSE_SIDE_CAPTION = 2, FUSE_SIDE_BOTH = 3 };

/* The items of one side of a batch, copied: ids, and spikes and features
 * concatenated in batch order. */
typedef struct {
    char **ids;
    int *off;            /* (capacity+1) row offsets */
    uint8_t *values;     /* item b's (T,n,D) values at T*off[b]*D */
    float *feats;        /* (rows,D) */
    size_t values_cap, feats_cap;
} fuse_side;

typedef struct {
    snn_model *m;
    int capacity, B;
    fuse_side img, txt;
    snn_arena arena;
    /* Output: scores as TSV to tsv, or fused records of `side` to writer. */
    FILE *tsv;
    snn_stream_writer *writer;
    int side;
    const char *out_name;
    uint64_t pairs_done;
} fuse_batch;

/* Prepares an empty batch of up to capacity pairs; exits 1 when out of memory. */
void fuse_batch_init(fuse_batch *b, snn_model *m, int capacity);
/* Copies a pair in, and fuses and writes the batch once it is full. */
void fuse_batch_add(fuse_batch *b, const fuse_item *img, const fuse_item *txt);
/* Fuses and writes the pairs not yet written. */
void fuse_batch_flush(fuse_batch *b);
void fuse_batch_free(fuse_batch *b);

/* Header of the fused stream that snn-fuse writes for model m. */
void fuse_stream_info(snn_stream_info *info, const snn_model *m);

#endif
