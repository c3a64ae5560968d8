/* Similarity between token sets, the contrastive loss, and retrieval metrics.
 *
 * Shape letters: Bi images, Bt captions, D embedding size, T time steps. A token
 * set is a run of L2-normalised rows; set i spans rows off[i] .. off[i+1]-1 of
 * its matrix. off[0] may be above 0, so a caller can pass &off[k] to score the
 * sets from k on without copying rows: row indices stay those of the matrix. */
#ifndef SNN_SIMILARITY_H
#define SNN_SIMILARITY_H

#include <stddef.h>
#include <stdint.h>

#include "snn.h"

enum { SNN_SIM_FINE = 0, SNN_SIM_GLOBAL = 1 };

typedef struct {
    int mode;          /* SNN_SIM_FINE or SNN_SIM_GLOBAL */
    float temperature; /* log-sum-exp pooling temperature, > 0 */
} snn_sim_params;

/* What the fine-grained backward pass needs; opaque, from snn_sim_forward. */
typedef struct snn_sim_cache snn_sim_cache;

/* Computes sim (Bi,Bt) between every image token set and every caption token set.
 * Fine mode: cosine matrix c (regions x words); a_r = max_w c[r,w],
 * b_w = max_r c[r,w]; sim = tau * log(mean_{r,w} exp(a_r * b_w / tau)).
 * Global mode: cosine of the L2-normalised mean of each set.
 * With cache != NULL the state for backward is stored in *cache (allocated here,
 * freed with snn_sim_cache_free). Empty sets are an error. Rows are used as
 * given: their dot products are the cosines only because they have unit norm.
 * Fine mode computes the cosines in blocks of at most about 4M floats (16 MiB),
 * unless a single image-caption pair needs more. Its cache takes
 * 8*(Bt*rows(img) + Bi*rows(txt)) bytes. */
int snn_sim_forward(float *sim, snn_sim_cache **cache,
                    const float *img, const int *img_off, int Bi,
                    const float *txt, const int *txt_off, int Bt, int D,
                    const snn_sim_params *p, snn_error *err);
/* Adds the gradients of sum(dsim .* sim) to dimg (rows of img) and dtxt, which
 * are indexed like img and txt. Fine mode sends each pooled maximum's gradient
 * to the cosine entry that won it (the first one on ties). img and txt must be
 * the arrays given to forward. A cache is used by one backward call at a time. */
void snn_sim_backward(float *dimg, float *dtxt, const float *dsim, const snn_sim_cache *cache,
                      const float *img, const float *txt);
void snn_sim_cache_free(snn_sim_cache *cache);

/* InfoNCE with margin over a square (B,B) similarity matrix whose diagonal contains
 * the positive pairs, both directions:
 *   image i: log(1 + sum_{j!=i} exp((s[i,j] - s[i,i] + margin) / temperature))
 *   caption j: log(1 + sum_{i!=j} exp((s[i,j] - s[j,j] + margin) / temperature))
 * loss = mean over images + mean over captions. Returns the loss (not multiplied
 * by weight) and, when dsim is not NULL, ADDS weight * d(loss)/d(sim) to it. */
double snn_infonce(float *dsim, const float *sim, int B, float temperature, float margin,
                   float weight);

/* Recall at 1/5/10 in per cent, median and mean rank (1-based). */
typedef struct {
    double r1, r5, r10, median_rank, mean_rank;
} snn_recall;

typedef struct {
    snn_recall i2t, t2i;
    double rsum;
    size_t images, captions;
} snn_metrics;

/* Scores retrieval from sim (Ni,Nt): caption j is relevant to image i when
 * img_key[i] == txt_key[j]. Image-to-text uses the rank of the best-ranked
 * relevant caption, text-to-image the best-ranked relevant image. Ties are
 * counted pessimistically: rank = 1 + (candidates scoring higher) + (irrelevant
 * candidates scoring equal), so constant scores never look good. A query with
 * no relevant candidate is an error. */
int snn_metrics_compute(snn_metrics *m, const float *sim, size_t Ni, size_t Nt,
                        const int *img_key, const int *txt_key, snn_error *err);

/* Writes the indices of the k best of n scores into idx (k <= n), best first;
 * equal scores keep the lower index first, and NaN scores rank last. */
void snn_topk(int *idx, const float *scores, int n, int k);

/* Turns one spike record into token embeddings, as the model's temporal readout
 * and L2 normalisation do at inference: out (n,D) = the rows of
 * sum_t readout[t] * values[t,n,:], each divided by max(norm, 1e-12), so a row
 * without spikes stays zero. values is (T,n,D), readout (T).
 * Returns SNN_OK, or SNN_EINVAL when T, n or D is out of range. */
int snn_embed_spikes(float *out, const uint8_t *values, int T, int n, int D,
                     const float *readout);

#endif
