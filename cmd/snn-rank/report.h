/* Output of snn-rank: the metrics as a table or JSON, and the top-k lists. */
#ifndef SNN_RANK_REPORT_H
#define SNN_RANK_REPORT_H

#include <stdio.h>

#include "options.h"
#include "scores.h"
#include "sets.h"
#include "similarity.h"

void rank_print_table(FILE *fp, const snn_metrics *m, const rank_options *o);
/* Returns 0, or -1 when jansson runs out of memory. */
int rank_print_json(FILE *fp, const snn_metrics *m, const rank_options *o);

/* The matrices the top-k lists come from. Without --rerank, i2t and t2i are
 * both the similarity matrix and fused is NULL; with it, they are the two
 * re-ranked copies, and ranks 1 to depth show the fused score. */
typedef struct {
    const float *i2t, *t2i;   /* (images, captions) */
    const rank_scores *fused;
    int depth;
} rank_topk_source;

/* Writes a header line and `direction query rank candidate score` lines: the
 * best k captions of every image (i2t), then the best k images of every
 * caption (t2i). Returns 0, or -1 when out of memory. */
int rank_write_topk(FILE *fp, const rank_topk_source *src, const rank_sets *img,
                    const rank_sets *txt, int k);

#endif
