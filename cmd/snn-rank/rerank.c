/* Re-ranking the top candidates of every query by their fused scores. */
#include "rerank.h"

#include <math.h>
#include <stdlib.h>

#include "similarity.h"

/* Where the queries and candidates of one direction sit in sim: the entry of
 * query q and candidate c is sim[q * query_stride + c * candidate_stride]. */
typedef struct {
    int direction;
    size_t queries, candidates, query_stride, candidate_stride;
    int depth; /* candidates re-ranked per query: --rerank-depth or all candidates if fewer */
} rank_layout;

typedef struct {
    double fused;
    int candidate;
} fused_candidate;

/* Buffers of one rank_rerank call. */
typedef struct {
    float *line;             /* (candidates) the similarities of one query */
    int *top;                /* (depth) snn_topk of line */
    fused_candidate *order;  /* (depth) the top candidates by fused score */
} rank_scratch;

static int compare_fused_descending(const void *a, const void *b)
{
    double x = ((const fused_candidate *)a)->fused, y = ((const fused_candidate *)b)->fused;
    return (x < y) - (x > y);
}

static size_t image_of(const rank_layout *l, size_t query, size_t candidate)
{
    return l->direction == RANK_I2T ? query : candidate;
}

static size_t caption_of(const rank_layout *l, size_t query, size_t candidate)
{
    return l->direction == RANK_I2T ? candidate : query;
}

/* Copies the similarities of query q into line and their maximum into *max. */
static int gather_line(float *line, float *max, const float *sim, const rank_layout *l,
                       size_t q, const rank_sets *img, const rank_sets *txt, snn_error *err)
{
    *max = -INFINITY;
    for (size_t c = 0; c < l->candidates; c++) {
        line[c] = sim[q * l->query_stride + c * l->candidate_stride];
        if (!isfinite(line[c]))
            return snn_fail(err, SNN_EINVAL, "similarity of image '%s' and caption '%s' is %g: "
                            "scores must be finite to re-rank", img->ids[image_of(l, q, c)],
                            txt->ids[caption_of(l, q, c)], (double)line[c]);
        *max = fmaxf(*max, line[c]);
    }
    return SNN_OK;
}

static int missing_score(const rank_layout *l, size_t q, size_t c, const rank_sets *img,
                         const rank_sets *txt, const rank_scores *fused, int depth,
                         snn_error *err)
{
    int i2t = l->direction == RANK_I2T;
    return snn_fail(err, SNN_EFORMAT, "%s: no fused score for image '%s' and caption '%s', "
                    "which are in the %s top %d of %s '%s': score the snn-rank --topk list "
                    "written with --k %d, the same as --rerank-depth, and the same --similarity",
                    fused->name,
                    img->ids[image_of(l, q, c)], txt->ids[caption_of(l, q, c)],
                    i2t ? "image-to-text" : "text-to-image", depth, i2t ? "image" : "caption",
                    i2t ? img->ids[q] : txt->ids[q], depth);
}

/* Gives the re-ranked candidates of query q the values max + step * level, where
 * level runs from the number of distinct fused scores (the best) down to 1.
 * step is a power of two above |max|, so step * level is exact, and rounding the
 * sum moves it by less than step while level < 2^22: the values stay distinct
 * and above max. --rerank-depth is at most 1000000, below 2^22. */
static void assign_values(float *sim, const rank_layout *l, size_t q,
                          const fused_candidate *order, float max)
{
    float step = ldexpf(1.0f, ilogbf(fmaxf(1.0f, fabsf(max))) + 1);
    int levels = 1;
    for (int r = 1; r < l->depth; r++)
        levels += order[r].fused != order[r - 1].fused;

    int level = levels;
    for (int r = 0; r < l->depth; r++) {
        if (r > 0 && order[r].fused != order[r - 1].fused)
            level--;
        size_t c = (size_t)order[r].candidate;
        sim[q * l->query_stride + c * l->candidate_stride] = max + step * (float)level;
    }
}

static int rerank_query(float *sim, const rank_layout *l, size_t q, rank_scratch *w,
                        const rank_sets *img, const rank_sets *txt, const rank_scores *fused,
                        int depth, snn_error *err)
{
    float max;
    int rc = gather_line(w->line, &max, sim, l, q, img, txt, err);
    if (rc)
        return rc;
    snn_topk(w->top, w->line, (int)l->candidates, l->depth);

    for (int r = 0; r < l->depth; r++) {
        size_t c = (size_t)w->top[r];
        w->order[r].candidate = w->top[r];
        if (!rank_scores_find(fused, image_of(l, q, c), caption_of(l, q, c), &w->order[r].fused))
            return missing_score(l, q, c, img, txt, fused, depth, err);
    }
    qsort(w->order, (size_t)l->depth, sizeof *w->order, compare_fused_descending);

    assign_values(sim, l, q, w->order, max);
    return SNN_OK;
}

int rank_rerank(float *sim, int direction, const rank_sets *img, const rank_sets *txt,
                const rank_scores *fused, int depth, snn_error *err)
{
    size_t Ni = img->count, Nt = txt->count;
    rank_layout l = direction == RANK_I2T ? (rank_layout){direction, Ni, Nt, Nt, 1, 0}
                                          : (rank_layout){direction, Nt, Ni, 1, Nt, 0};
    l.depth = (size_t)depth < l.candidates ? depth : (int)l.candidates;

    rank_scratch w = {snn_alloc(l.candidates, sizeof *w.line),
                      snn_alloc((size_t)l.depth, sizeof *w.top),
                      snn_alloc((size_t)l.depth, sizeof *w.order)};
    int rc = SNN_OK;
    if (!w.line || !w.top || !w.order)
        rc = snn_fail(err, SNN_ENOMEM, "out of memory for re-ranking %zu candidates",
                      l.candidates);
    for (size_t q = 0; !rc && q < l.queries; q++)
        rc = rerank_query(sim, &l, q, &w, img, txt, fused, depth, err);

    free(w.line);
    free(w.top);
    free(w.order);
    return rc;
}
