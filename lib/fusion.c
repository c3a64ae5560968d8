/* Cross-modal spike fusion: the tokens of one modality attend to the aligned
 * item of the other, and the result, with the query's float features added,
 * becomes the fused token embedding. Shapes are as in model.h, with Nq rows
 * of the query and Nkv rows of the context. */
#include <string.h>

#include "model.h"
#include "modules.h"

struct snn_fuse_act {
    snn_attn_act attn;
    snn_ffn_act ffn;
    float *x1, *x2;         /* (T,Nq,D) after the attention and after the FFN residual */
    float *ro, *sum, *norm; /* (Nq,D) readout, readout + features; (Nq) row norms */
};

static int check_inputs(const snn_model *m, const snn_fusion *f, const snn_enc_out *query,
                        const snn_enc_out *context, snn_error *err)
{
    if (!m->cfg.fusion || !f->readout)
        return snn_fail(err, SNN_EINVAL, "the model has no fusion modules: build it with "
                        "fusion 1");
    if (query->B != context->B)
        return snn_fail(err, SNN_EINVAL, "fusion needs aligned pairs, got %d query items and "
                        "%d context items", query->B, context->B);
    return SNN_OK;
}

/* x1 = xq + attn(xq, xkv); x2 = x1 + ffn(x1); (T,Nq,D). */
static int fuse_tokens(snn_model *m, snn_fusion *f, snn_fuse_act *a, const snn_enc_out *query,
                       const snn_enc_out *context, int training, snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    int T = c->time_steps, D = c->dim;
    size_t n = (size_t)T * query->N * D;
    int rc = snn_attention_forward(&f->attn, &a->attn, query->spikes, query->off, query->N,
                                   context->spikes, context->off, context->N, query->B, T,
                                   training, c->bn_momentum, ar);
    if (rc)
        return rc;
    ARENA_TAKE(a->x1, ar, n);
    for (size_t i = 0; i < n; i++)
        a->x1[i] = query->spikes[i] + a->attn.proj.s[i];

    if ((rc = snn_ffn_forward(&f->ffn, &a->ffn, a->x1, T, query->N, training, c->bn_momentum,
                              ar)))
        return rc;
    ARENA_TAKE(a->x2, ar, n);
    for (size_t i = 0; i < n; i++)
        a->x2[i] = a->x1[i] + a->ffn.out.s[i];
    return SNN_OK;
}

/* Temporal readout, plus the query's float features, then L2 normalisation:
 * (T,Nq,D) -> (Nq,D). */
static int fuse_embed(const snn_fusion *f, snn_fuse_act *a, snn_fuse_out *out,
                      const float *feat_raw, int T, int D, snn_arena *ar)
{
    size_t N = out->N;
    ARENA_TAKE(a->ro, ar, N * D);
    ARENA_TAKE(a->sum, ar, N * D);
    ARENA_TAKE(a->norm, ar, N);
    ARENA_TAKE(out->emb, ar, N * D);

    snn_readout_forward(a->ro, a->x2, f->readout, T, N, D);
    for (size_t i = 0; i < N * D; i++)
        a->sum[i] = a->ro[i] + feat_raw[i];
    snn_l2norm_forward(out->emb, a->norm, a->sum, N, D);
    return SNN_OK;
}

int snn_fuse_forward(snn_model *m, snn_fusion *f, snn_fuse_out *out, const snn_enc_out *query,
                     const snn_enc_out *context, int training, snn_arena *ar, snn_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = check_inputs(m, f, query, context, err);
    if (rc)
        return rc;
    out->B = query->B;
    out->N = query->N;
    out->off = query->off;
    out->act = (snn_fuse_act *)snn_arena_zeros(ar, (sizeof(snn_fuse_act) + 3) / 4);
    if (!out->act)
        return snn_fail(err, SNN_ENOMEM, "out of memory in the fusion forward pass");

    snn_fuse_act *a = out->act;
    if ((rc = fuse_tokens(m, f, a, query, context, training, ar)) ||
        (rc = fuse_embed(f, a, out, query->feat_raw, m->cfg.time_steps, m->cfg.dim, ar)))
        return snn_fail(err, rc, "out of memory in the fusion forward pass (%zu query rows, "
                        "%zu context rows)", query->N, context->N);
    return SNN_OK;
}

int snn_fuse_backward(snn_model *m, snn_fusion *f, const snn_fuse_out *out, const float *demb,
                      float *dquery, float *dcontext, float *dquery_feat, snn_arena *ar)
{
    const snn_fuse_act *a = out->act;
    int T = m->cfg.time_steps, D = m->cfg.dim;
    size_t N = out->N, n = (size_t)T * N * D;
    float *dsum, *dx2, *dx1;
    ARENA_ZEROS(dsum, ar, N * D);
    ARENA_ZEROS(dx2, ar, n);
    ARENA_TAKE(dx1, ar, n);

    /* The features enter the sum unchanged, so their gradient is the sum's. */
    snn_l2norm_backward(dsum, demb, out->emb, a->norm, N, D);
    for (size_t i = 0; i < N * D; i++)
        dquery_feat[i] += dsum[i];
    snn_readout_backward(dx2, f->dreadout, dsum, a->x2, f->readout, T, N, D);

    memcpy(dx1, dx2, n * sizeof(float));
    int rc = snn_ffn_backward(&f->ffn, &a->ffn, dx1, dx2, ar);
    if (rc)
        return rc;

    for (size_t i = 0; i < n; i++)
        dquery[i] += dx1[i];
    return snn_attention_backward(&f->attn, &a->attn, dquery, dcontext, dx1, ar);
}
