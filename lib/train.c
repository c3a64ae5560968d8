/* One training step of the unimodal objective: both encoders forward, set
 * similarities, InfoNCE with margin on the spike embeddings and on the float
 * features, backward, gradient clipping and AdamW. */
#include <math.h>
#include <string.h>

#include "model.h"
#include "similarity.h"

/* Learnable thresholds are kept above this so a layer cannot fire on no input. */
#define MIN_VTH 0.05f

typedef struct {
    float *sim, *dsim, *dimg, *dtxt;
    snn_sim_cache *cache;
    double loss;
} pair_term;

/* Similarity and loss of one pair of embeddings (img rows, txt rows), with the
 * gradients of the weighted loss in dimg and dtxt. */
static int contrast(pair_term *p, const snn_model *m, const float *img, const snn_enc_out *io,
                    const float *txt, const snn_enc_out *to, float weight, snn_arena *ar,
                    snn_error *err)
{
    const snn_config *c = &m->cfg;
    int B = io->B, D = c->dim;
    snn_sim_params sp = {.mode = SNN_SIM_FINE, .temperature = c->sim_temperature};
    ARENA_TAKE(p->sim, ar, (size_t)B * B);
    ARENA_ZEROS(p->dsim, ar, (size_t)B * B);
    ARENA_ZEROS(p->dimg, ar, io->N * D);
    ARENA_ZEROS(p->dtxt, ar, to->N * D);

    int rc = snn_sim_forward(p->sim, &p->cache, img, io->off, B, txt, to->off, B, D, &sp, err);
    if (rc)
        return rc;
    p->loss = snn_infonce(p->dsim, p->sim, B, c->loss_temperature, c->margin, weight);
    snn_sim_backward(p->dimg, p->dtxt, p->dsim, p->cache, img, txt);
    snn_sim_cache_free(p->cache);
    p->cache = NULL;
    return SNN_OK;
}

static double clip_gradients(snn_model *m, float max_norm)
{
    double norm = snn_grad_norm(m->grads, m->n_params);
    if (max_norm > 0 && norm > max_norm)
        snn_scale(m->grads, m->n_params, (float)(max_norm / (norm + 1e-6)));
    return norm;
}

static void optimise(snn_model *m, const snn_train_params *tp)
{
    snn_adamw_params ap = {.lr = tp->lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                           .weight_decay = tp->weight_decay};
    m->step++;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const snn_tensor_info *t = &m->tensors[i];
        if (t->buffer)
            continue;
        snn_adamw_update(m->params + t->offset, m->grads + t->offset, m->adam_m + t->offset,
                         m->adam_v + t->offset, t->size, m->step, &ap, t->decay);
    }
    for (int i = 0; i < m->n_lifs; i++)
        if (m->lifs[i].vth && *m->lifs[i].vth < MIN_VTH)
            *m->lifs[i].vth = MIN_VTH;
}

int snn_train_step(snn_model *m, const float *pixels, const int *ids, const int *off, int B,
                   const snn_train_params *tp, snn_train_stats *st, snn_arena *ar,
                   snn_error *err)
{
    snn_enc_out io, to;
    pair_term spike = {0}, feat = {0};
    int rc;
    snn_model_zero_grad(m);

    if ((rc = snn_image_forward(m, &io, pixels, B, 1, ar)) ||
        (rc = snn_text_forward(m, &to, ids, off, B, 1, ar)))
        return snn_fail(err, rc, "out of memory in the forward pass (batch of %d)", B);

    if ((rc = contrast(&spike, m, io.emb, &io, to.emb, &to, tp->w_spike, ar, err)) ||
        (rc = contrast(&feat, m, io.feat, &io, to.feat, &to, tp->w_float, ar, err)))
        return rc;

    if ((rc = snn_image_backward(m, &io, spike.dimg, feat.dimg, ar)) ||
        (rc = snn_text_backward(m, &to, spike.dtxt, feat.dtxt, ar)))
        return snn_fail(err, rc, "out of memory in the backward pass (batch of %d)", B);

    st->grad_norm = clip_gradients(m, tp->clip);
    if (!isfinite(st->grad_norm))
        return snn_fail(err, SNN_EINVAL, "gradient norm is not finite at step %ld: lower the "
                        "learning rate", m->step + 1);
    optimise(m, tp);

    st->loss_spike = spike.loss;
    st->loss_float = feat.loss;
    st->loss = tp->w_spike * spike.loss + tp->w_float * feat.loss;
    return SNN_OK;
}

int snn_calibrate_step(snn_model *m, const float *pixels, const int *ids, const int *off, int B,
                       snn_arena *ar, snn_error *err)
{
    snn_enc_out io, to;
    int rc;
    if ((rc = snn_image_forward(m, &io, pixels, B, 1, ar)) ||
        (rc = snn_text_forward(m, &to, ids, off, B, 1, ar)))
        return snn_fail(err, rc, "out of memory in the forward pass (batch of %d)", B);
    return SNN_OK;
}
