/* Retrieval metrics (Recall@K, median and mean rank) and top-k selection. */
#include "similarity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_ranks(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Sorts rank (n >= 1) and summarises it. The median of an even count is the mean
 * of the two middle ranks. */
static void summarise(snn_recall *out, size_t *rank, size_t n)
{
    size_t hits1 = 0, hits5 = 0, hits10 = 0;
    double sum = 0.0;
    for (size_t q = 0; q < n; q++) {
        hits1 += rank[q] <= 1;
        hits5 += rank[q] <= 5;
        hits10 += rank[q] <= 10;
        sum += (double)rank[q];
    }
    qsort(rank, n, sizeof *rank, compare_ranks);

    out->r1 = 100.0 * (double)hits1 / (double)n;
    out->r5 = 100.0 * (double)hits5 / (double)n;
    out->r10 = 100.0 * (double)hits10 / (double)n;
    out->mean_rank = sum / (double)n;
    out->median_rank = n % 2 ? (double)rank[n / 2]
                             : 0.5 * ((double)rank[n / 2 - 1] + (double)rank[n / 2]);
}

static int check_finite(const float *sim, size_t Ni, size_t Nt, snn_error *err)
{
    for (size_t i = 0; i < Ni; i++)
        for (size_t j = 0; j < Nt; j++)
            if (!isfinite(sim[i * Nt + j]))
                return snn_fail(err, SNN_EINVAL, "metrics: similarity of image %zu and caption "
                                "%zu is %g: scores must be finite", i, j,
                                (double)sim[i * Nt + j]);
    return SNN_OK;
}

/* The best-ranked relevant candidate is the one with the highest score s*. Every
 * candidate above s* is irrelevant, so its pessimistic rank is
 * 1 + (irrelevant candidates scoring >= s*). */
static int rank_images_to_text(size_t *rank, const float *sim, size_t Ni, size_t Nt,
                               const int *img_key, const int *txt_key, snn_error *err)
{
    for (size_t i = 0; i < Ni; i++) {
        const float *row = sim + i * Nt;
        int found = 0;
        float best = 0.0f;
        for (size_t j = 0; j < Nt; j++)
            if (txt_key[j] == img_key[i] && (!found || row[j] > best)) {
                best = row[j];
                found = 1;
            }
        if (!found)
            return snn_fail(err, SNN_EINVAL, "metrics: image %zu (key %d) has no relevant "
                            "caption: every image needs a caption with its key", i, img_key[i]);

        size_t above = 0;
        for (size_t j = 0; j < Nt; j++)
            above += txt_key[j] != img_key[i] && row[j] >= best;
        rank[i] = 1 + above;
    }
    return SNN_OK;
}

/* Same rule per caption, reading the matrix row by row to stay cache-friendly.
 * best (Nt) is scratch. */
static int rank_text_to_images(size_t *rank, float *best, const float *sim, size_t Ni, size_t Nt,
                               const int *img_key, const int *txt_key, snn_error *err)
{
    for (size_t j = 0; j < Nt; j++) {
        best[j] = -INFINITY;
        rank[j] = 0; /* 0: no relevant image seen yet */
    }
    for (size_t i = 0; i < Ni; i++)
        for (size_t j = 0; j < Nt; j++)
            if (txt_key[j] == img_key[i] && (!rank[j] || sim[i * Nt + j] > best[j])) {
                best[j] = sim[i * Nt + j];
                rank[j] = 1;
            }
    for (size_t j = 0; j < Nt; j++)
        if (!rank[j])
            return snn_fail(err, SNN_EINVAL, "metrics: caption %zu (key %d) has no relevant "
                            "image: every caption needs an image with its key", j, txt_key[j]);

    for (size_t i = 0; i < Ni; i++)
        for (size_t j = 0; j < Nt; j++)
            rank[j] += txt_key[j] != img_key[i] && sim[i * Nt + j] >= best[j];
    return SNN_OK;
}

int snn_metrics_compute(snn_metrics *m, const float *sim, size_t Ni, size_t Nt,
                        const int *img_key, const int *txt_key, snn_error *err)
{
    if (Ni == 0 || Nt == 0)
        return snn_fail(err, SNN_EINVAL, "metrics: nothing to score (%zu images, %zu captions)",
                        Ni, Nt);
    int rc = check_finite(sim, Ni, Nt, err);
    if (rc)
        return rc;

    size_t *img_rank = snn_alloc(Ni, sizeof *img_rank);
    size_t *txt_rank = snn_alloc(Nt, sizeof *txt_rank);
    float *best = snn_alloc(Nt, sizeof *best);
    if (!img_rank || !txt_rank || !best)
        rc = snn_fail(err, SNN_ENOMEM, "metrics: out of memory for %zu + %zu ranks", Ni, Nt);
    if (!rc)
        rc = rank_images_to_text(img_rank, sim, Ni, Nt, img_key, txt_key, err);
    if (!rc)
        rc = rank_text_to_images(txt_rank, best, sim, Ni, Nt, img_key, txt_key, err);

    if (!rc) {
        memset(m, 0, sizeof *m);
        summarise(&m->i2t, img_rank, Ni);
        summarise(&m->t2i, txt_rank, Nt);
        m->rsum = m->i2t.r1 + m->i2t.r5 + m->i2t.r10 + m->t2i.r1 + m->t2i.r5 + m->t2i.r10;
        m->images = Ni;
        m->captions = Nt;
    }
    free(img_rank);
    free(txt_rank);
    free(best);
    return rc;
}

/* ---- top-k */

/* Whether candidate a ranks before candidate b: higher score first, NaN last,
 * the lower index first among equals. */
static int ranks_before(const float *s, int a, int b)
{
    int a_nan = isnan(s[a]), b_nan = isnan(s[b]);
    if (a_nan || b_nan)
        return a_nan != b_nan ? b_nan : a < b;
    if (s[a] != s[b])
        return s[a] > s[b];
    return a < b;
}

/* heap[0] is the candidate that ranks last among the k kept. */
static void sift_down(int *heap, int k, int at, const float *s)
{
    for (;;) {
        int child = 2 * at + 1, last = at;
        if (child < k && ranks_before(s, heap[last], heap[child]))
            last = child;
        if (child + 1 < k && ranks_before(s, heap[last], heap[child + 1]))
            last = child + 1;
        if (last == at)
            return;
        int t = heap[at];
        heap[at] = heap[last];
        heap[last] = t;
        at = last;
    }
}

void snn_topk(int *idx, const float *scores, int n, int k)
{
    if (k <= 0)
        return;
    for (int i = 0; i < k; i++)
        idx[i] = i;
    for (int at = k / 2 - 1; at >= 0; at--)
        sift_down(idx, k, at, scores);

    for (int i = k; i < n; i++)
        if (ranks_before(scores, i, idx[0])) {
            idx[0] = i;
            sift_down(idx, k, 0, scores);
        }

    /* Taking the last-ranked out each time fills idx from the back. */
    for (int size = k; size > 1; size--) {
        int t = idx[0];
        idx[0] = idx[size - 1];
        idx[size - 1] = t;
        sift_down(idx, size - 1, 0, scores);
    }
}
