/* The token sets of one spike stream, held in memory for ranking: each record's
 * spikes become unit-length token embeddings (snn_embed_spikes). */
#ifndef SNN_RANK_SETS_H
#define SNN_RANK_SETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "snn.h"
#include "stream.h"

typedef struct {
    const char *name;         /* the path, or "standard input", for messages */
    FILE *fp;                 /* open input; closed by rank_sets_free unless stdin */
    snn_stream_reader *reader;
    snn_stream_info info;
    size_t count;             /* sets, one per record */
    char **ids, **keys;       /* (count) owned copies */
    size_t *record;           /* (count) 1-based record number in the stream */
    int *key_id;              /* (count) equal keys share an id; set by rank_match_keys */
    int *off;                 /* (count+1) row offsets */
    float *rows;              /* (off[count], D) token embeddings */
    size_t set_cap, row_cap;
} rank_sets;

/* Opens path ('-' for stdin) and reads its header. `kind` is SNN_STREAM_IMAGE or
 * SNN_STREAM_TEXT, and the same spikes with features are accepted too. A stream
 * of another kind is an error, whose message names the program that writes the
 * right one. */
int rank_sets_open(rank_sets *s, const char *path, uint32_t kind, snn_error *err);
/* Reads every record, rejecting empty records and duplicate ids. */
int rank_sets_read(rank_sets *s, snn_error *err);
/* Keeps the sets whose keep[k] is non-zero, in order. */
void rank_sets_keep(rank_sets *s, const unsigned char *keep);
void rank_sets_free(rank_sets *s);

/* Gives equal keys of both sides the same key_id. A caption whose key matches no
 * image, or an image without a caption, is an error naming the first such
 * record, unless allow_unmatched: then they are dropped and counted. */
int rank_match_keys(rank_sets *img, rank_sets *txt, int allow_unmatched, size_t *dropped_img,
                    size_t *dropped_txt, snn_error *err);

#endif
