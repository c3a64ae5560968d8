/* Global similarity: the cosine of the mean-pooled token sets, with its backward
 * pass. */
#include "similarity_cache.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

/* x rows -> unit (B,D): the mean of each set divided by max(its norm, eps); norm (B) */
static void mean_units(float *unit, float *norm, const float *x, const int *off, int B, int D)
{
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *u = unit + (size_t)b * D;
        int R = off[b + 1] - off[b];
        memset(u, 0, (size_t)D * sizeof *u);
        for (int r = off[b]; r < off[b + 1]; r++)
            axpy(u, 1.0f, x + (size_t)r * D, D);

        double sq = 0.0;
        for (int d = 0; d < D; d++) {
            u[d] /= (float)R;
            sq += (double)u[d] * u[d];
        }
        norm[b] = (float)sqrt(sq);
        float inv = 1.0f / fmaxf(norm[b], NORM_EPS);
        for (int d = 0; d < D; d++)
            u[d] *= inv;
    }
}

/* unit (B,D) gradients dunit -> rows: d(u/|u|) = (dn - n (n.dn)) / |u|, and each of
 * a set's R rows gets 1/R of the mean's gradient. A zero mean passes nothing back. */
static void spread_unit_grads(float *dx, const float *dunit, const float *unit,
                              const float *norm, const int *off, int B, int D)
{
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *n = unit + (size_t)b * D, *dn = dunit + (size_t)b * D;
        if (norm[b] == 0.0f)
            continue;

        double dot = 0.0;
        for (int d = 0; d < D; d++)
            dot += (double)n[d] * dn[d];
        float proj = norm[b] > NORM_EPS ? (float)dot : 0.0f;
        float scale = 1.0f / (fmaxf(norm[b], NORM_EPS) * (float)(off[b + 1] - off[b]));

        for (int r = off[b]; r < off[b + 1]; r++) {
            float *row = dx + (size_t)r * D;
            for (int d = 0; d < D; d++)
                row[d] += (dn[d] - n[d] * proj) * scale;
        }
    }
}

/* img, txt rows -> sim (Bi,Bt) */
void sim_global_forward(float *sim, snn_sim_cache *c, const float *img, const float *txt)
{
    const sim_shape *s = &c->shape;
    mean_units(c->img_unit, c->img_norm, img, s->img_off, s->Bi, s->D);
    mean_units(c->txt_unit, c->txt_norm, txt, s->txt_off, s->Bt, s->D);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->Bi, s->Bt, s->D, 1.0f,
                c->img_unit, s->D, c->txt_unit, s->D, 0.0f, sim, s->Bt);
}

/* dsim (Bi,Bt) -> dimg, dtxt rows */
void sim_global_backward(float *dimg, float *dtxt, const float *dsim, const snn_sim_cache *c)
{
    const sim_shape *s = &c->shape;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->Bi, s->D, s->Bt, 1.0f,
                dsim, s->Bt, c->txt_unit, s->D, 0.0f, c->dimg_unit, s->D);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->Bt, s->D, s->Bi, 1.0f,
                dsim, s->Bt, c->img_unit, s->D, 0.0f, c->dtxt_unit, s->D);
    spread_unit_grads(dimg, c->dimg_unit, c->img_unit, c->img_norm, s->img_off, s->Bi, s->D);
    spread_unit_grads(dtxt, c->dtxt_unit, c->txt_unit, c->txt_norm, s->txt_off, s->Bt, s->D);
}
