/* Internal to the similarity code: the shapes of one snn_sim_forward call, the
 * cache that carries its state to backward, and the per-mode passes. */
#ifndef SNN_SIMILARITY_CACHE_H
#define SNN_SIMILARITY_CACHE_H

#include <stddef.h>

#include "similarity.h"

/* Means with a smaller norm are divided by this instead, as in snn_l2norm_forward. */
#define NORM_EPS 1e-12f

/* Shapes of one call. The sets span rows img_row0 .. img_row0+Nr-1 of img and
 * txt_row0 .. txt_row0+Nw-1 of txt. */
typedef struct {
    const int *img_off, *txt_off;
    int Bi, Bt, D;
    size_t img_row0, txt_row0, Nr, Nw;
} sim_shape;

struct snn_sim_cache {
    int mode;
    sim_shape shape; /* its offsets point to img_off and txt_off below */
    int *img_off, *txt_off;
    /* Fine mode. For caption j and image row r, at j*Nr + r - img_row0: the caption
     * row where max_w c[r,w] was found and d sim[i,j] / d a_r. For image i and
     * caption row w, at i*Nw + w - txt_row0: the image row of max_r c[r,w] and
     * d sim[i,j] / d b_w. */
    int *a_arg, *b_arg;
    float *a_grad, *b_grad;
    /* Global mode: unit mean vectors (Bi,D) and (Bt,D), the norms of the means
     * before normalisation, and scratch for the gradients of the unit vectors. */
    float *img_unit, *txt_unit, *img_norm, *txt_norm, *dimg_unit, *dtxt_unit;
};

static inline size_t set_rows(const int *off, int first, int end)
{
    return (size_t)(off[end] - off[first]);
}

static inline void axpy(float *y, float alpha, const float *x, int D)
{
    for (int d = 0; d < D; d++)
        y[d] += alpha * x[d];
}

/* Fine mode (similarity_fine.c): img (Nr,D), txt (Nw,D) -> sim (Bi,Bt). With
 * cache != NULL, fills its fine-mode arrays. */
int sim_fine_forward(float *sim, snn_sim_cache *cache, const sim_shape *s, const float *img,
                     const float *txt, float tau, snn_error *err);
void sim_fine_backward(float *dimg, float *dtxt, const float *dsim, const snn_sim_cache *c,
                       const float *img, const float *txt);

/* Global mode (similarity_global.c). The cache is required, because it stores
 * the mean vectors. */
void sim_global_forward(float *sim, snn_sim_cache *c, const float *img, const float *txt);
void sim_global_backward(float *dimg, float *dtxt, const float *dsim, const snn_sim_cache *c);

#endif
