/* Re-ranking with fused scores (--rerank). The top N candidates of every query
 * by similarity are put in the order of their fused scores, above every other
 * candidate. The candidates below rank N keep their similarity order. */
#ifndef SNN_RANK_RERANK_H
#define SNN_RANK_RERANK_H

#include "scores.h"
#include "sets.h"
#include "snn.h"

/* The queries of a direction: the images (rows of sim) or the captions (columns). */
enum { RANK_I2T = 0, RANK_T2I = 1 };

/* Re-ranks sim (images, captions) in place for one direction. Each query's top
 * `depth` candidates in snn_topk order (all of them when there are fewer) get
 * values above the query's maximum similarity, ordered by fused score, with
 * equal values for equal fused scores, so snn_metrics_compute counts those as
 * ties. A pair among them without a fused score is an error naming the file,
 * the image and the caption. Re-rank a separate copy of sim per direction. */
int rank_rerank(float *sim, int direction, const rank_sets *img, const rank_sets *txt,
                const rank_scores *fused, int depth, snn_error *err);

#endif
