/* Similarity between image and caption token sets: argument checks, the cache,
 * and the entry points. Fine mode is in similarity_fine.c, global mode in
 * similarity_global.c. */
#include "similarity_cache.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void snn_sim_cache_free(snn_sim_cache *c)
{
    if (!c)
        return;
    free(c->img_off);
    free(c->txt_off);
    free(c->a_arg);
    free(c->b_arg);
    free(c->a_grad);
    free(c->b_grad);
    free(c->img_unit);
    free(c->txt_unit);
    free(c->img_norm);
    free(c->txt_norm);
    free(c->dimg_unit);
    free(c->dtxt_unit);
    free(c);
}

static int *copy_offsets(const int *off, int B)
{
    int *copy = snn_alloc((size_t)B + 1, sizeof *copy);
    if (copy)
        memcpy(copy, off, ((size_t)B + 1) * sizeof *copy);
    return copy;
}

static int cache_alloc_mode(snn_sim_cache *c)
{
    const sim_shape *s = &c->shape;
    if (c->mode == SNN_SIM_FINE) {
        size_t na = s->Nr * (size_t)s->Bt, nb = s->Nw * (size_t)s->Bi;
        if (s->Bt && na / (size_t)s->Bt != s->Nr)
            return SNN_ENOMEM;
        if (s->Bi && nb / (size_t)s->Bi != s->Nw)
            return SNN_ENOMEM;
        c->a_arg = snn_alloc(na, sizeof(int));
        c->a_grad = snn_alloc(na, sizeof(float));
        c->b_arg = snn_alloc(nb, sizeof(int));
        c->b_grad = snn_alloc(nb, sizeof(float));
        return c->a_arg && c->a_grad && c->b_arg && c->b_grad ? SNN_OK : SNN_ENOMEM;
    }
    size_t D = (size_t)s->D;
    c->img_unit = snn_alloc((size_t)s->Bi * D, sizeof(float));
    c->txt_unit = snn_alloc((size_t)s->Bt * D, sizeof(float));
    c->img_norm = snn_alloc((size_t)s->Bi, sizeof(float));
    c->txt_norm = snn_alloc((size_t)s->Bt, sizeof(float));
    c->dimg_unit = snn_alloc((size_t)s->Bi * D, sizeof(float));
    c->dtxt_unit = snn_alloc((size_t)s->Bt * D, sizeof(float));
    return c->img_unit && c->txt_unit && c->img_norm && c->txt_norm && c->dimg_unit
           && c->dtxt_unit ? SNN_OK : SNN_ENOMEM;
}

static snn_sim_cache *cache_new(const sim_shape *s, int mode)
{
    snn_sim_cache *c = snn_zalloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->mode = mode;
    c->shape = *s;
    c->img_off = copy_offsets(s->img_off, s->Bi);
    c->txt_off = copy_offsets(s->txt_off, s->Bt);
    c->shape.img_off = c->img_off;
    c->shape.txt_off = c->txt_off;
    if (!c->img_off || !c->txt_off || cache_alloc_mode(c) != SNN_OK) {
        snn_sim_cache_free(c);
        return NULL;
    }
    return c;
}

static int check_sets(const int *off, int B, const char *what, snn_error *err)
{
    if (B < 0)
        return snn_fail(err, SNN_EINVAL, "similarity: %s count %d is negative", what, B);
    if (off[0] < 0)
        return snn_fail(err, SNN_EINVAL, "similarity: first %s offset %d is negative",
                        what, off[0]);
    for (int b = 0; b < B; b++)
        if (off[b + 1] <= off[b])
            return snn_fail(err, SNN_EINVAL,
                            "similarity: %s set %d is empty (rows %d to %d): every set needs "
                            "at least one token row", what, b, off[b], off[b + 1] - 1);
    return SNN_OK;
}

static int check_params(const snn_sim_params *p, int D, snn_error *err)
{
    if (p->mode != SNN_SIM_FINE && p->mode != SNN_SIM_GLOBAL)
        return snn_fail(err, SNN_EINVAL, "similarity: invalid mode %d: use SNN_SIM_FINE or "
                        "SNN_SIM_GLOBAL", p->mode);
    if (p->mode == SNN_SIM_FINE && !(p->temperature > 0.0f && isfinite(p->temperature)))
        return snn_fail(err, SNN_EINVAL, "similarity: invalid temperature %g: must be a "
                        "positive number", (double)p->temperature);
    if (D < 1)
        return snn_fail(err, SNN_EINVAL, "similarity: invalid embedding size %d", D);
    return SNN_OK;
}

int snn_sim_forward(float *sim, snn_sim_cache **cache,
                    const float *img, const int *img_off, int Bi,
                    const float *txt, const int *txt_off, int Bt, int D,
                    const snn_sim_params *p, snn_error *err)
{
    int rc;
    if (cache)
        *cache = NULL;
    if ((rc = check_params(p, D, err)) || (rc = check_sets(img_off, Bi, "image", err))
        || (rc = check_sets(txt_off, Bt, "caption", err)))
        return rc;

    sim_shape s = {img_off, txt_off, Bi, Bt, D, (size_t)img_off[0], (size_t)txt_off[0],
                   set_rows(img_off, 0, Bi), set_rows(txt_off, 0, Bt)};
    snn_sim_cache *c = NULL;
    if (cache || p->mode == SNN_SIM_GLOBAL) {
        if (!(c = cache_new(&s, p->mode)))
            return snn_fail(err, SNN_ENOMEM, "similarity: out of memory for the cache of "
                            "%d images x %d captions", Bi, Bt);
    }

    rc = SNN_OK;
    if (Bi > 0 && Bt > 0) {
        if (p->mode == SNN_SIM_FINE)
            rc = sim_fine_forward(sim, c, &s, img, txt, p->temperature, err);
        else
            sim_global_forward(sim, c, img, txt);
    }

    if (cache && rc == SNN_OK)
        *cache = c;
    else
        snn_sim_cache_free(c);
    return rc;
}

void snn_sim_backward(float *dimg, float *dtxt, const float *dsim, const snn_sim_cache *cache,
                      const float *img, const float *txt)
{
    if (cache->shape.Bi == 0 || cache->shape.Bt == 0)
        return;
    if (cache->mode == SNN_SIM_GLOBAL) {
        sim_global_backward(dimg, dtxt, dsim, cache);
        return;
    }
    sim_fine_backward(dimg, dtxt, dsim, cache, img, txt);
}
