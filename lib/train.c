/* One training step of the CMSF objective. Both encoders run forward, and
 * InfoNCE with margin scores the set similarities of the spike embeddings and
 * of the float features. A fusion weight above 0 adds the three fusion terms.
 * Backward, gradient clipping and AdamW follow. */
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

/* The fused pairs of a batch, the three fusion terms, and the gradients the
 * fusion modules send back to the encoder outputs. */
typedef struct {
    snn_fuse_out img, txt; /* image b fused with caption b, and caption b with image b */
    pair_term ff;          /* fused images against fused captions */
    pair_term uf;          /* unimodal images against fused captions */
    pair_term fu;          /* fused images against unimodal captions */
    float *dspikes_img, *dspikes_txt; /* (T,N,D) at each encoder's block output */
    float *dfeat_img, *dfeat_txt;     /* (N,D) at each encoder's feat_raw */
} fusion_terms;

static int fusion_forward(fusion_terms *f, snn_model *m, const snn_enc_out *io,
                          const snn_enc_out *to, float weight, snn_arena *ar, snn_error *err)
{
    int rc;
    if ((rc = snn_fuse_forward(m, &m->fuse_img, &f->img, io, to, 1, ar, err)) ||
        (rc = snn_fuse_forward(m, &m->fuse_txt, &f->txt, to, io, 1, ar, err)))
        return rc;

    if ((rc = contrast(&f->ff, m, f->img.emb, io, f->txt.emb, to, weight, ar, err)) ||
        (rc = contrast(&f->uf, m, io->emb, io, f->txt.emb, to, weight, ar, err)) ||
        (rc = contrast(&f->fu, m, f->img.emb, io, to->emb, to, weight, ar, err)))
        return rc;
    return SNN_OK;
}

static void add_into(float *acc, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        acc[i] += x[i];
}

/* Adds the gradients of the unimodal embeddings to spike's, and backpropagates
 * through both fusion modules into the encoder-output gradients of f. Each
 * encoder's spikes get gradients as the query of its own fusion module and as
 * the context of the other. */
static int fusion_backward(fusion_terms *f, snn_model *m, const snn_enc_out *io,
                           const snn_enc_out *to, pair_term *spike, snn_arena *ar)
{
    int T = m->cfg.time_steps, D = m->cfg.dim, rc;
    size_t ni = io->N * D, nt = to->N * D;
    add_into(f->ff.dimg, f->fu.dimg, ni); /* now the gradient of the fused images */
    add_into(f->ff.dtxt, f->uf.dtxt, nt); /* now the gradient of the fused captions */
    add_into(spike->dimg, f->uf.dimg, ni);
    add_into(spike->dtxt, f->fu.dtxt, nt);

    ARENA_ZEROS(f->dspikes_img, ar, (size_t)T * ni);
    ARENA_ZEROS(f->dspikes_txt, ar, (size_t)T * nt);
    ARENA_ZEROS(f->dfeat_img, ar, ni);
    ARENA_ZEROS(f->dfeat_txt, ar, nt);
    if ((rc = snn_fuse_backward(m, &m->fuse_img, &f->img, f->ff.dimg, f->dspikes_img,
                                f->dspikes_txt, f->dfeat_img, ar)) ||
        (rc = snn_fuse_backward(m, &m->fuse_txt, &f->txt, f->ff.dtxt, f->dspikes_txt,
                                f->dspikes_img, f->dfeat_txt, ar)))
        return rc;
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
    fusion_terms fu = {0};
    int fused = tp->w_fusion > 0, rc;
    if (fused && !m->cfg.fusion)
        return snn_fail(err, SNN_EINVAL, "fusion weight %g needs a model with fusion modules: "
                        "build the model with fusion 1, or set the weight to 0",
                        (double)tp->w_fusion);
    snn_model_zero_grad(m);

    if ((rc = snn_image_forward(m, &io, pixels, B, 1, ar)) ||
        (rc = snn_text_forward(m, &to, ids, off, B, 1, ar)))
        return snn_fail(err, rc, "out of memory in the forward pass (batch of %d)", B);

    if ((rc = contrast(&spike, m, io.emb, &io, to.emb, &to, tp->w_spike, ar, err)) ||
        (rc = contrast(&feat, m, io.feat, &io, to.feat, &to, tp->w_float, ar, err)))
        return rc;
    if (fused && (rc = fusion_forward(&fu, m, &io, &to, tp->w_fusion, ar, err)))
        return rc;

    snn_enc_grad gi = {.demb = spike.dimg, .dfeat = feat.dimg};
    snn_enc_grad gt = {.demb = spike.dtxt, .dfeat = feat.dtxt};
    if (fused) {
        if ((rc = fusion_backward(&fu, m, &io, &to, &spike, ar)))
            return snn_fail(err, rc, "out of memory in the fusion backward pass (batch of %d)",
                            B);
        gi.dspikes = fu.dspikes_img;
        gi.dfeat_raw = fu.dfeat_img;
        gt.dspikes = fu.dspikes_txt;
        gt.dfeat_raw = fu.dfeat_txt;
    }
    if ((rc = snn_image_backward_full(m, &io, &gi, ar)) ||
        (rc = snn_text_backward_full(m, &to, &gt, ar)))
        return snn_fail(err, rc, "out of memory in the backward pass (batch of %d)", B);

    st->grad_norm = clip_gradients(m, tp->clip);
    if (!isfinite(st->grad_norm))
        return snn_fail(err, SNN_EINVAL, "gradient norm is not finite at step %ld: lower the "
                        "learning rate", m->step + 1);
    optimise(m, tp);

    st->loss_spike = spike.loss;
    st->loss_float = feat.loss;
    st->loss_ff = fu.ff.loss;
    st->loss_uf = fu.uf.loss;
    st->loss_fu = fu.fu.loss;
    st->loss = tp->w_spike * spike.loss + tp->w_float * feat.loss;
    if (fused)
        st->loss += tp->w_fusion * (fu.ff.loss + fu.uf.loss + fu.fu.loss);
    return SNN_OK;
}

int snn_calibrate_step(snn_model *m, const float *pixels, const int *ids, const int *off, int B,
                       snn_arena *ar, snn_error *err)
{
    snn_enc_out io, to;
    snn_fuse_out fi, ft;
    int rc;
    if ((rc = snn_image_forward(m, &io, pixels, B, 1, ar)) ||
        (rc = snn_text_forward(m, &to, ids, off, B, 1, ar)))
        return snn_fail(err, rc, "out of memory in the forward pass (batch of %d)", B);
    if (m->cfg.fusion &&
        ((rc = snn_fuse_forward(m, &m->fuse_img, &fi, &io, &to, 1, ar, err)) ||
         (rc = snn_fuse_forward(m, &m->fuse_txt, &ft, &to, &io, 1, ar, err))))
        return rc;
    return SNN_OK;
}
