/* Fine-grained similarity: the cosine matrix of two token sets, its row and
 * column maxima, and their temperature-scaled log-mean-exp, with the backward pass. */
#include "similarity_cache.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

/* Cosine entries per sgemm call in fine mode (16 MiB of floats), unless one
 * image-caption pair alone needs more. */
#define SIM_BLOCK_ENTRIES ((size_t)1 << 22)
/* Caption rows per block, so that an image block still spans several images. */
#define SIM_BLOCK_TXT_ROWS 2048
/* Lowest exponent passed to expf in fine mode: exp(-80) is about 1.8e-35, still
 * a normal float. */
#define EXP_FLOOR -80.0f

/* Scratch of one thread for one image-caption pair in fine mode. */
typedef struct {
    float *a, *b, *bs;   /* (R) row maxima, (W) column maxima, (W) b / tau */
    int *a_arg, *b_arg;  /* their positions, relative to the pair's block */
    double *da, *db;     /* d sim / d a_r and d sim / d b_w */
} pair_scratch;

static int max_set_rows(const int *off, int B)
{
    int max_rows = 0;
    for (int b = 0; b < B; b++)
        if (off[b + 1] - off[b] > max_rows)
            max_rows = off[b + 1] - off[b];
    return max_rows;
}

/* ---- fine mode: one pair */

/* Row maxima a and column maxima b of the pair's (R,W) cosine block c, whose row
 * stride is ldc. The loops have no branches, so the compiler can vectorise them. */
static void pair_maxima(pair_scratch *ps, const float *c, size_t ldc, int R, int W)
{
    for (int w = 0; w < W; w++)
        ps->b[w] = c[w];
    for (int r = 0; r < R; r++) {
        const float *row = c + (size_t)r * ldc;
        float best = row[0];
        for (int w = 0; w < W; w++) {
            best = row[w] > best ? row[w] : best;
            ps->b[w] = row[w] > ps->b[w] ? row[w] : ps->b[w];
        }
        ps->a[r] = best;
    }
}

/* The same maxima and where they were taken, the first place on ties. One
 * branching pass is faster here than pair_maxima followed by a search. */
static void pair_maxima_argmax(pair_scratch *ps, const float *c, size_t ldc, int R, int W)
{
    for (int w = 0; w < W; w++) {
        ps->b[w] = c[w];
        ps->b_arg[w] = 0;
    }
    for (int r = 0; r < R; r++) {
        const float *row = c + (size_t)r * ldc;
        int best = 0;
        for (int w = 0; w < W; w++) {
            if (row[w] > row[best])
                best = w;
            if (row[w] > ps->b[w]) {
                ps->b[w] = row[w];
                ps->b_arg[w] = r;
            }
        }
        ps->a[r] = row[best];
        ps->a_arg[r] = best;
    }
}

/* max over r,w of a_r*b_w: a product is linear in each factor, so the maximum is at
 * one of the four pairs of extremes. */
static float max_outer(const float *a, int R, const float *b, int W)
{
    float amin = a[0], amax = a[0], bmin = b[0], bmax = b[0];
    for (int r = 1; r < R; r++) {
        amin = fminf(amin, a[r]);
        amax = fmaxf(amax, a[r]);
    }
    for (int w = 1; w < W; w++) {
        bmin = fminf(bmin, b[w]);
        bmax = fmaxf(bmax, b[w]);
    }
    return fmaxf(fmaxf(amin * bmin, amin * bmax), fmaxf(amax * bmin, amax * bmax));
}

/* sum_{r,w} exp(a_r * bs_w - shift), where bs = b / tau and shift = max(a_r b_w) / tau,
 * so no term exceeds 1. Exponents are floored at EXP_FLOOR, which changes the sum
 * by less than R*W*1e-34 of its value (at least 1) but keeps expf off its slow
 * underflow path at small temperatures. */
static double pool_sum(const pair_scratch *ps, int R, int W, float shift)
{
    double total = 0.0;
    for (int r = 0; r < R; r++) {
        float ar = ps->a[r];
        double row = 0.0;
        for (int w = 0; w < W; w++)
            row += expf(fmaxf(ar * ps->bs[w] - shift, EXP_FLOOR));
        total += row;
    }
    return total;
}

/* The same sum, and the unnormalised gradients sum_w e_rw b_w into da and
 * sum_r e_rw a_r into db. */
static double pool_sum_grad(pair_scratch *ps, int R, int W, float shift)
{
    double total = 0.0;
    memset(ps->db, 0, (size_t)W * sizeof *ps->db);
    for (int r = 0; r < R; r++) {
        float ar = ps->a[r];
        double row = 0.0, da = 0.0;
        for (int w = 0; w < W; w++) {
            float e = expf(fmaxf(ar * ps->bs[w] - shift, EXP_FLOOR));
            row += e;
            da += e * ps->b[w];
            ps->db[w] += e * ar;
        }
        total += row;
        ps->da[r] = da;
    }
    return total;
}

/* Returns tau*log(mean exp(a_r b_w / tau)) of the pair's cosine block. With grad,
 * also da_r = sum_w p_rw b_w and db_w = sum_r p_rw a_r, where p is the softmax
 * over all (r,w): the temperature cancels between the log and the exponent. */
static float pool_pair(pair_scratch *ps, const float *c, size_t ldc, int R, int W, float tau,
                       int grad)
{
    if (grad)
        pair_maxima_argmax(ps, c, ldc, R, W);
    else
        pair_maxima(ps, c, ldc, R, W);
    float top = max_outer(ps->a, R, ps->b, W);
    float inv_tau = 1.0f / tau;
    for (int w = 0; w < W; w++)
        ps->bs[w] = ps->b[w] * inv_tau;

    double total = grad ? pool_sum_grad(ps, R, W, top * inv_tau) : pool_sum(ps, R, W, top * inv_tau);
    if (grad) {
        for (int r = 0; r < R; r++)
            ps->da[r] /= total;
        for (int w = 0; w < W; w++)
            ps->db[w] /= total;
    }
    return (float)(top + tau * (log(total) - log((double)R * W)));
}

static void cache_store_pair(snn_sim_cache *c, const pair_scratch *ps, int i, int j)
{
    const sim_shape *s = &c->shape;
    size_t r0 = (size_t)s->img_off[i] - s->img_row0, w0 = (size_t)s->txt_off[j] - s->txt_row0;
    int R = s->img_off[i + 1] - s->img_off[i], W = s->txt_off[j + 1] - s->txt_off[j];

    for (int r = 0; r < R; r++) {
        size_t k = (size_t)j * s->Nr + r0 + r;
        c->a_arg[k] = s->txt_off[j] + ps->a_arg[r];
        c->a_grad[k] = (float)ps->da[r];
    }
    for (int w = 0; w < W; w++) {
        size_t k = (size_t)i * s->Nw + w0 + w;
        c->b_arg[k] = s->img_off[i] + ps->b_arg[w];
        c->b_grad[k] = (float)ps->db[w];
    }
}

/* ---- fine mode: blocks of pairs */

static void scratch_free(pair_scratch *ps, int n)
{
    for (int t = 0; ps && t < n; t++) {
        free(ps[t].a);
        free(ps[t].b);
        free(ps[t].bs);
        free(ps[t].a_arg);
        free(ps[t].b_arg);
        free(ps[t].da);
        free(ps[t].db);
    }
    free(ps);
}

static pair_scratch *scratch_new(int n, int R, int W)
{
    pair_scratch *ps = snn_zalloc((size_t)n, sizeof *ps);
    if (!ps)
        return NULL;
    for (int t = 0; t < n; t++) {
        ps[t].a = snn_alloc((size_t)R, sizeof(float));
        ps[t].b = snn_alloc((size_t)W, sizeof(float));
        ps[t].bs = snn_alloc((size_t)W, sizeof(float));
        ps[t].a_arg = snn_alloc((size_t)R, sizeof(int));
        ps[t].b_arg = snn_alloc((size_t)W, sizeof(int));
        ps[t].da = snn_alloc((size_t)R, sizeof(double));
        ps[t].db = snn_alloc((size_t)W, sizeof(double));
        if (!ps[t].a || !ps[t].b || !ps[t].bs || !ps[t].a_arg || !ps[t].b_arg || !ps[t].da || !ps[t].db) {
            scratch_free(ps, n);
            return NULL;
        }
    }
    return ps;
}

/* Returns the end of the block of sets starting at first: as many as fit in
 * max_rows rows, but at least one. */
static int block_end(const int *off, int first, int B, size_t max_rows)
{
    int end = first + 1;
    while (end < B && set_rows(off, first, end + 1) <= max_rows)
        end++;
    return end;
}

typedef struct {
    int i0, i1, j0, j1;
    const float *cos; /* (rows of images i0..i1-1, rows of captions j0..j1-1) */
} pair_block;

static void pool_block(float *sim, snn_sim_cache *cache, const sim_shape *s,
                       const pair_block *blk, float tau, pair_scratch *scratch)
{
    size_t ldc = set_rows(s->txt_off, blk->j0, blk->j1);
    int ni = blk->i1 - blk->i0, nj = blk->j1 - blk->j0;

#pragma omp parallel for schedule(dynamic, 4)
    for (int p = 0; p < ni * nj; p++) {
        int i = blk->i0 + p / nj, j = blk->j0 + p % nj;
        pair_scratch *ps = &scratch[omp_get_thread_num()];
        const float *c = blk->cos + set_rows(s->img_off, blk->i0, i) * ldc
                         + set_rows(s->txt_off, blk->j0, j);
        int R = s->img_off[i + 1] - s->img_off[i], W = s->txt_off[j + 1] - s->txt_off[j];

        sim[(size_t)i * s->Bt + j] = pool_pair(ps, c, ldc, R, W, tau, cache != NULL);
        if (cache)
            cache_store_pair(cache, ps, i, j);
    }
}

/* img (Nr,D), txt (Nw,D) -> sim (Bi,Bt) */
int sim_fine_forward(float *sim, snn_sim_cache *cache, const sim_shape *s, const float *img,
                     const float *txt, float tau, snn_error *err)
{
    int threads = omp_get_max_threads();
    pair_scratch *scratch = scratch_new(threads, max_set_rows(s->img_off, s->Bi),
                                        max_set_rows(s->txt_off, s->Bt));
    float *cos = NULL;
    size_t cos_cap = 0;
    if (!scratch)
        return snn_fail(err, SNN_ENOMEM, "similarity: out of memory for pair scratch");

    for (int j0 = 0, j1; j0 < s->Bt; j0 = j1) {
        j1 = block_end(s->txt_off, j0, s->Bt, SIM_BLOCK_TXT_ROWS);
        size_t rt = set_rows(s->txt_off, j0, j1);
        size_t max_img_rows = SIM_BLOCK_ENTRIES / rt ? SIM_BLOCK_ENTRIES / rt : 1;

        for (int i0 = 0, i1; i0 < s->Bi; i0 = i1) {
            i1 = block_end(s->img_off, i0, s->Bi, max_img_rows);
            size_t ri = set_rows(s->img_off, i0, i1);
            if (ri * rt > cos_cap) {
                free(cos);
                cos_cap = ri * rt;
                if (!(cos = snn_alloc(cos_cap, sizeof *cos))) {
                    scratch_free(scratch, threads);
                    return snn_fail(err, SNN_ENOMEM,
                                    "similarity: out of memory for a %zu x %zu cosine block",
                                    ri, rt);
                }
            }

            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ri, (int)rt, s->D, 1.0f,
                        img + (size_t)s->img_off[i0] * s->D, s->D,
                        txt + (size_t)s->txt_off[j0] * s->D, s->D, 0.0f, cos, (int)rt);
            pair_block blk = {i0, i1, j0, j1, cos};
            pool_block(sim, cache, s, &blk, tau, scratch);
        }
    }

    free(cos);
    scratch_free(scratch, threads);
    return SNN_OK;
}

/* Adds to dimg: every image row gets the gradients of the maxima it took part in,
 * so threads split the work by image and never write the same row. */
static void fine_backward_img(float *dimg, const float *dsim, const snn_sim_cache *c,
                              const float *txt)
{
    const sim_shape *s = &c->shape;
    int D = s->D;

#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < s->Bi; i++) {
        for (int j = 0; j < s->Bt; j++) {
            float g = dsim[(size_t)i * s->Bt + j];
            if (g == 0.0f)
                continue;

            for (int r = s->img_off[i]; r < s->img_off[i + 1]; r++) {
                size_t k = (size_t)j * s->Nr + (size_t)r - s->img_row0;
                axpy(dimg + (size_t)r * D, g * c->a_grad[k], txt + (size_t)c->a_arg[k] * D, D);
            }
            for (int w = s->txt_off[j]; w < s->txt_off[j + 1]; w++) {
                size_t k = (size_t)i * s->Nw + (size_t)w - s->txt_row0;
                axpy(dimg + (size_t)c->b_arg[k] * D, g * c->b_grad[k], txt + (size_t)w * D, D);
            }
        }
    }
}

/* Adds to dtxt, split by caption for the same reason. */
static void fine_backward_txt(float *dtxt, const float *dsim, const snn_sim_cache *c,
                              const float *img)
{
    const sim_shape *s = &c->shape;
    int D = s->D;

#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < s->Bt; j++) {
        for (int i = 0; i < s->Bi; i++) {
            float g = dsim[(size_t)i * s->Bt + j];
            if (g == 0.0f)
                continue;

            for (int r = s->img_off[i]; r < s->img_off[i + 1]; r++) {
                size_t k = (size_t)j * s->Nr + (size_t)r - s->img_row0;
                axpy(dtxt + (size_t)c->a_arg[k] * D, g * c->a_grad[k], img + (size_t)r * D, D);
            }
            for (int w = s->txt_off[j]; w < s->txt_off[j + 1]; w++) {
                size_t k = (size_t)i * s->Nw + (size_t)w - s->txt_row0;
                axpy(dtxt + (size_t)w * D, g * c->b_grad[k], img + (size_t)c->b_arg[k] * D, D);
            }
        }
    }
}

void sim_fine_backward(float *dimg, float *dtxt, const float *dsim, const snn_sim_cache *c,
                       const float *img, const float *txt)
{
    fine_backward_img(dimg, dsim, c, txt);
    fine_backward_txt(dtxt, dsim, c, img);
}
