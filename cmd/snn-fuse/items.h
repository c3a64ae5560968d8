/* The records of one spike stream with features, as snn-fuse uses them: either
 * read one at a time (aligned pairs) or all held in memory and looked up by id
 * (--pairs). */
#ifndef SNN_FUSE_ITEMS_H
#define SNN_FUSE_ITEMS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stream.h"
#include "strmap.h"

/* One record: n token rows of T spike maps and of float features. */
typedef struct {
    const char *id, *key;
    uint32_t n;
    const uint8_t *values; /* (T,n,D) */
    const float *feats;    /* (n,D) */
} fuse_item;

typedef struct {
    const char *name;      /* the path, or "standard input" */
    FILE *fp;
    snn_stream_reader *reader;
    snn_stream_info info;
    uint64_t record;       /* records read so far */
    /* Held records (fuse_items_load): */
    size_t count, cap;
    fuse_item *items;
    snn_strmap index;      /* id -> item */
} fuse_items;

/* Opens path ('-' for stdin) and checks that it contains spikes with features of
 * the given modality (SNN_STREAM_IMAGE or SNN_STREAM_TEXT), written by the
 * model with this fingerprint. Exits 1 with the fix otherwise. */
void fuse_items_open(fuse_items *s, const char *path, uint32_t modality, uint64_t fingerprint,
                     const char *model_path);
/* Reads the next record into it, valid until the next call. Returns 1, or 0 at
 * the end of the input; exits 1 on a bad record. */
int fuse_items_next(fuse_items *s, fuse_item *it);
/* Reads every record into memory and indexes the ids; a duplicate id exits 1. */
void fuse_items_load(fuse_items *s);
/* Returns the held record with this id, or NULL. */
const fuse_item *fuse_items_find(const fuse_items *s, const char *id);
void fuse_items_close(fuse_items *s);

#endif
