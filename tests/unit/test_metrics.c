/* Retrieval metrics on small hand-ranked matrices, and top-k order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "similarity.h"

static snn_metrics score(const float *sim, size_t Ni, size_t Nt, const int *img_key,
                         const int *txt_key)
{
    snn_metrics m;
    snn_error err = {0};
    memset(&m, 0xff, sizeof m);
    int rc = snn_metrics_compute(&m, sim, Ni, Nt, img_key, txt_key, &err);
    if (rc)
        fprintf(stderr, "snn_metrics_compute: %s\n", err.msg);
    CHECK_INT(rc, SNN_OK);
    return m;
}

static void check_recall(const snn_recall *r, double r1, double r5, double r10, double median,
                         double mean)
{
    CHECK_NEAR(r->r1, r1, 1e-9, 0);
    CHECK_NEAR(r->r5, r5, 1e-9, 0);
    CHECK_NEAR(r->r10, r10, 1e-9, 0);
    CHECK_NEAR(r->median_rank, median, 1e-12, 0);
    CHECK_NEAR(r->mean_rank, mean, 1e-12, 0);
}

/* i2t ranks: image 0 -> 1, image 1 -> 3 (0.3 and 0.8 beat 0.2), image 2 -> 2.
 * t2i ranks: caption 0 -> 1, caption 1 -> 2 (0.7 beats 0.2), caption 2 -> 2. */
static void test_one_caption_per_image(void)
{
    float sim[9] = {0.9f, 0.1f, 0.2f,
                    0.3f, 0.2f, 0.8f,
                    0.1f, 0.7f, 0.6f};
    int keys[3] = {0, 1, 2};
    snn_metrics m = score(sim, 3, 3, keys, keys);
    check_recall(&m.i2t, 100.0 / 3, 100, 100, 2, 2);
    check_recall(&m.t2i, 100.0 / 3, 100, 100, 2, 5.0 / 3);
    CHECK_NEAR(m.rsum, 200.0 / 3 + 400, 1e-9, 0);
    CHECK_INT(m.images, 3);
    CHECK_INT(m.captions, 3);
}

/* Image 7 has captions 0-1, image 9 captions 2-4; an image ranks by its best
 * caption: image 0 by caption 1 (0.5, behind 0.6) -> 2; image 1 by caption 3
 * (0.8, behind 0.9) -> 2. Captions: 2, 2, 2, 1, 2. */
static void test_several_captions_per_image(void)
{
    float sim[10] = {0.2f, 0.5f, 0.6f, 0.1f, 0.3f,
                     0.4f, 0.9f, 0.3f, 0.8f, 0.2f};
    int img_key[2] = {7, 9}, txt_key[5] = {7, 7, 9, 9, 9};
    snn_metrics m = score(sim, 2, 5, img_key, txt_key);
    check_recall(&m.i2t, 0, 100, 100, 2, 2);
    check_recall(&m.t2i, 20, 100, 100, 2, 1.8);
    CHECK_NEAR(m.rsum, 420, 1e-9, 0);
}

/* Equal scores count against the query: with a constant matrix every image ranks
 * behind the 4 captions of the other images, every caption behind 2 images. */
static void test_constant_matrix_worst_ranks(void)
{
    float sim[18];
    for (int k = 0; k < 18; k++)
        sim[k] = 0.5f;
    int img_key[3] = {0, 1, 2}, txt_key[6] = {0, 0, 1, 1, 2, 2};
    snn_metrics m = score(sim, 3, 6, img_key, txt_key);
    check_recall(&m.i2t, 0, 100, 100, 5, 5);
    check_recall(&m.t2i, 0, 100, 100, 3, 3);
}

/* Caption j has j irrelevant images above its own, so ranks are 1..4, and image
 * ranks are 4..1; the median of an even count is the mean of the middle two. */
static void test_median_even_count(void)
{
    float sim[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float score = 0.0f;
            if (i < j)
                score = 1.0f - 0.1f * (float)i;
            else if (i == j)
                score = 0.5f;
            sim[i * 4 + j] = score;
        }
    int keys[4] = {0, 1, 2, 3};
    snn_metrics m = score(sim, 4, 4, keys, keys);
    check_recall(&m.t2i, 25, 100, 100, 2.5, 2.5);
    check_recall(&m.i2t, 25, 100, 100, 2.5, 2.5);
}

/* Recall at 5 and 10 differ once ranks pass 5. Image 0 has captions 12 and 13;
 * image 1 has captions 0-11, all scoring above 12 and 13, so image 1 ranks 1. */
static void test_recall_cutoffs(void)
{
    float sim[28];
    int img_key[2] = {1, 0}, txt_key[14];
    for (int j = 0; j < 14; j++) {
        txt_key[j] = j >= 12;
        sim[j] = (float)(14 - j);
        sim[14 + j] = j < 12 ? 1.0f : 0.0f;
    }

    /* captions 12 (score 2) and 13 (score 1) are behind captions 0-11: rank 13 */
    snn_metrics m = score(sim, 2, 14, img_key, txt_key);
    check_recall(&m.i2t, 50, 50, 50, 7, 7);

    sim[12] = 10.5f; /* now behind captions 0-3 only: rank 5 */
    m = score(sim, 2, 14, img_key, txt_key);
    check_recall(&m.i2t, 50, 100, 100, 3, 3);

    sim[12] = 5.5f; /* behind captions 0-8: rank 10 */
    m = score(sim, 2, 14, img_key, txt_key);
    check_recall(&m.i2t, 50, 50, 100, 5.5, 5.5);
}

static void test_errors(void)
{
    float sim[4] = {1, 0, 0, 1};
    int img_key[2] = {0, 1}, txt_key[2] = {0, 2};
    snn_metrics m;
    snn_error err = {0};
    CHECK_INT(snn_metrics_compute(&m, sim, 2, 2, img_key, txt_key, &err), SNN_EINVAL);
    CHECK(strstr(err.msg, "image 1 (key 1) has no relevant caption") != NULL);

    int keys[2] = {0, 1};
    sim[2] = NAN;
    CHECK_INT(snn_metrics_compute(&m, sim, 2, 2, keys, keys, &err), SNN_EINVAL);
    CHECK(strstr(err.msg, "image 1 and caption 0") != NULL);

    CHECK_INT(snn_metrics_compute(&m, sim, 0, 2, keys, keys, &err), SNN_EINVAL);
}

/* ---- top-k */

static void test_topk_ties_and_nan(void)
{
    float s[7] = {0.5f, 0.9f, 0.5f, 0.1f, 0.9f, NAN, 0.5f};
    int idx[7], want5[5] = {1, 4, 0, 2, 6}, want7[7] = {1, 4, 0, 2, 6, 3, 5};

    snn_topk(idx, s, 7, 5);
    for (int k = 0; k < 5; k++)
        CHECK_INT(idx[k], want5[k]);
    snn_topk(idx, s, 7, 7);
    for (int k = 0; k < 7; k++)
        CHECK_INT(idx[k], want7[k]);
    snn_topk(idx, s, 7, 1);
    CHECK_INT(idx[0], 1);

    idx[0] = -7;
    snn_topk(idx, s, 7, 0);
    CHECK_INT(idx[0], -7);
}

static const float *sort_scores;

static int compare_candidates(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (sort_scores[x] != sort_scores[y])
        return sort_scores[x] > sort_scores[y] ? -1 : 1;
    return (x > y) - (x < y);
}

/* Many ties: the heap must agree with a full sort by (score desc, index asc). */
static void test_topk_matches_sort(void)
{
    enum { N = 1000, K = 37 };
    float s[N];
    int idx[K], order[N];
    unsigned state = 12345;
    for (int i = 0; i < N; i++) {
        state = state * 1103515245u + 12345u;
        s[i] = (float)((state >> 16) % 17);
        order[i] = i;
    }
    sort_scores = s;
    qsort(order, N, sizeof *order, compare_candidates);
    snn_topk(idx, s, N, K);
    for (int k = 0; k < K; k++)
        CHECK_INT(idx[k], order[k]);
}

int main(void)
{
    test_one_caption_per_image();
    test_several_captions_per_image();
    test_constant_matrix_worst_ranks();
    test_median_even_count();
    test_recall_cutoffs();
    test_errors();
    test_topk_ties_and_nan();
    test_topk_matches_sort();
    CHECK_DONE();
}
