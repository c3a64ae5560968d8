/* Fused scores of (image, caption) pairs for --rerank, read from the TSV that
 * snn-fuse writes with --score: a header line `image<TAB>caption<TAB>score`,
 * then one pair per line, with the ids escaped as in the --topk lists. */
#ifndef SNN_RANK_SCORES_H
#define SNN_RANK_SCORES_H

#include <stddef.h>

#include "sets.h"

typedef struct {
    size_t image, caption; /* record numbers after rank_scores_read, set indices
                              after rank_scores_index */
    double score;
    size_t line; /* 1-based line in the file, for messages */
} rank_pair_score;

typedef struct {
    const char *name;       /* the path, or "standard input", for messages */
    rank_pair_score *pairs; /* (count) sorted by image, then caption, no duplicates */
    size_t count;
} rank_scores;

/* Reads path ('-' for stdin) against the sets of both streams, before
 * rank_match_keys drops any of them. A malformed line, an id that is in neither
 * stream, or a pair given two different scores is an error naming the line.
 * A pair repeated with the same score is kept once. */
int rank_scores_read(rank_scores *s, const char *path, const rank_sets *img,
                     const rank_sets *txt, snn_error *err);
/* Turns record numbers into indices of the sets that rank_match_keys kept, and
 * removes the pairs of dropped records. */
void rank_scores_index(rank_scores *s, const rank_sets *img, const rank_sets *txt);
/* Stores the fused score of (image, caption) in *score and returns 1, or
 * returns 0 when the file has none. */
int rank_scores_find(const rank_scores *s, size_t image, size_t caption, double *score);
void rank_scores_free(rank_scores *s);

#endif
