/* Composite modules of the spiking transformer: Linear-BN-LIF, spiking attention,
 * gated FFN, the residual block, the spike coder and the temporal readout. */
#include "modules.h"

#include <string.h>

#define BN_EPS 1e-5f

/* ---- LIF with firing statistics */

static snn_lif_params lif_params(const snn_lif *l)
{
    snn_lif_params p = l->p;
    if (l->vth)
        p.vth = *l->vth;
    return p;
}

int snn_lif_run(snn_lif *l, float **s, float **h, const float *x, int T, size_t n,
                snn_arena *ar)
{
    ARENA_TAKE(*s, ar, (size_t)T * n);
    ARENA_TAKE(*h, ar, (size_t)T * n);
    snn_lif_params p = lif_params(l);
    snn_lif_forward(*s, *h, x, T, n, &p);

    double fired = 0;
    for (size_t i = 0; i < (size_t)T * n; i++)
        fired += (*s)[i] != 0.0f;
    l->spikes += fired;
    l->count += (double)T * (double)n;
    return SNN_OK;
}

int snn_lif_back(snn_lif *l, float *dx, const float *ds, const float *h, const float *s,
                 const float *x, int T, size_t n)
{
    snn_lif_params p = lif_params(l);
    snn_lif_backward(dx, l->dvth, ds, h, s, x, T, n, &p);
    return SNN_OK;
}

/* ---- Linear -> BatchNorm -> LIF: (T,N,in) -> (T,N,out) */

int snn_lbl_forward(snn_lbl *m, snn_lbl_act *a, const float *x, int T, size_t N, int training,
                    float momentum, snn_arena *ar)
{
    size_t rows = (size_t)T * N;
    int OC = m->lin.out;
    a->x = x;
    a->T = T;
    a->N = N;
    ARENA_TAKE(a->lin, ar, rows * OC);
    ARENA_TAKE(a->bn, ar, rows * OC);
    ARENA_TAKE(a->mean, ar, OC);
    ARENA_TAKE(a->rstd, ar, OC);

    snn_linear_forward(a->lin, x, m->lin.w, m->lin.b, rows, m->lin.in, OC);

    snn_batchnorm_forward(a->bn, a->mean, a->rstd, a->lin, m->bn.gamma, m->bn.beta,
                          m->bn.rmean, m->bn.rvar, rows, OC, training, momentum, BN_EPS);

    return snn_lif_run(m->lif, &a->s, &a->h, a->bn, T, N * OC, ar);
}

int snn_lbl_backward(snn_lbl *m, const snn_lbl_act *a, float *dx, const float *ds,
                     const float *dbn_extra, snn_arena *ar)
{
    size_t rows = (size_t)a->T * a->N;
    int OC = m->lin.out;
    float *dbn, *dlin;
    ARENA_ZEROS(dbn, ar, rows * OC);
    ARENA_ZEROS(dlin, ar, rows * OC);

    snn_lif_back(m->lif, dbn, ds, a->h, a->s, a->bn, a->T, a->N * OC);
    if (dbn_extra)
        for (size_t i = 0; i < rows * OC; i++)
            dbn[i] += dbn_extra[i];

    snn_batchnorm_backward(dlin, m->bn.dgamma, m->bn.dbeta, dbn, a->lin, a->mean, a->rstd,
                           m->bn.gamma, rows, OC);

    snn_linear_backward(dx, m->lin.dw, m->lin.db, dlin, a->x, m->lin.w, rows, m->lin.in, OC);
    return SNN_OK;
}

/* ---- Spiking attention: q, k, v = LBL(x); y = LIF_attn(q (k^T v) * scale);
 * out = LBL(y). Shapes: xq (T,Nq,D), xkv (T,Nkv,D), out (T,Nq,D). */

static size_t kv_size(const snn_attention *m, int D)
{
    size_t hd = (size_t)(D / m->heads);
    return (size_t)m->heads * hd * hd;
}

int snn_attention_forward(snn_attention *m, snn_attn_act *a, const float *xq, const int *qoff,
                          size_t Nq, const float *xkv, const int *kvoff, size_t Nkv, int nseg,
                          int T, int training, float momentum, snn_arena *ar)
{
    int D = m->q.lin.out;
    size_t kvn = kv_size(m, D);
    a->qoff = qoff;
    a->kvoff = kvoff;
    a->nseg = nseg;
    a->T = T;
    a->Nq = Nq;
    a->Nkv = Nkv;

    int rc;
    if ((rc = snn_lbl_forward(&m->q, &a->q, xq, T, Nq, training, momentum, ar)) ||
        (rc = snn_lbl_forward(&m->k, &a->k, xkv, T, Nkv, training, momentum, ar)) ||
        (rc = snn_lbl_forward(&m->v, &a->v, xkv, T, Nkv, training, momentum, ar)))
        return rc;

    ARENA_TAKE(a->y, ar, (size_t)T * Nq * D);
    ARENA_TAKE(a->kv, ar, (size_t)T * nseg * kvn);
    for (int t = 0; t < T; t++) {
        for (int s = 0; s < nseg; s++) {
            size_t qrow = (size_t)t * Nq + qoff[s], krow = (size_t)t * Nkv + kvoff[s];
            snn_linattn_forward(a->y + qrow * D, a->kv + ((size_t)t * nseg + s) * kvn,
                                a->q.s + qrow * D, a->k.s + krow * D, a->v.s + krow * D,
                                qoff[s + 1] - qoff[s], kvoff[s + 1] - kvoff[s], D, m->heads,
                                m->scale);
        }
    }

    if ((rc = snn_lif_run(m->attn_lif, &a->sy, &a->hy, a->y, T, Nq * D, ar)))
        return rc;
    return snn_lbl_forward(&m->proj, &a->proj, a->sy, T, Nq, training, momentum, ar);
}

int snn_attention_backward(snn_attention *m, const snn_attn_act *a, float *dxq, float *dxkv,
                           const float *dout, snn_arena *ar)
{
    int D = m->q.lin.out, T = a->T;
    size_t Nq = a->Nq, Nkv = a->Nkv, kvn = kv_size(m, D);
    float *dsy, *dy, *dq, *dk, *dv;
    ARENA_ZEROS(dsy, ar, (size_t)T * Nq * D);
    ARENA_ZEROS(dy, ar, (size_t)T * Nq * D);
    ARENA_ZEROS(dq, ar, (size_t)T * Nq * D);
    ARENA_ZEROS(dk, ar, (size_t)T * Nkv * D);
    ARENA_ZEROS(dv, ar, (size_t)T * Nkv * D);

    int rc = snn_lbl_backward(&m->proj, &a->proj, dsy, dout, NULL, ar);
    if (rc)
        return rc;
    snn_lif_back(m->attn_lif, dy, dsy, a->hy, a->sy, a->y, T, Nq * D);

    for (int t = 0; t < T; t++) {
        for (int s = 0; s < a->nseg; s++) {
            size_t qrow = (size_t)t * Nq + a->qoff[s], krow = (size_t)t * Nkv + a->kvoff[s];
            snn_linattn_backward(dq + qrow * D, dk + krow * D, dv + krow * D, dy + qrow * D,
                                 a->kv + ((size_t)t * a->nseg + s) * kvn, a->q.s + qrow * D,
                                 a->k.s + krow * D, a->v.s + krow * D,
                                 a->qoff[s + 1] - a->qoff[s], a->kvoff[s + 1] - a->kvoff[s], D,
                                 m->heads, m->scale);
        }
    }

    if ((rc = snn_lbl_backward(&m->q, &a->q, dxq, dq, NULL, ar)) ||
        (rc = snn_lbl_backward(&m->k, &a->k, dxkv, dk, NULL, ar)) ||
        (rc = snn_lbl_backward(&m->v, &a->v, dxkv, dv, NULL, ar)))
        return rc;
    return SNN_OK;
}

/* ---- Gated FFN: a = LIF(BN(fc_a x)), g = fc_g x, out = LBL(a * g).
 * Shapes: x (T,N,D), a and g (T,N,F), out (T,N,D). */

int snn_ffn_forward(snn_ffn *m, snn_ffn_act *a, const float *x, int T, size_t N, int training,
                    float momentum, snn_arena *ar)
{
    size_t rows = (size_t)T * N;
    int D = m->fc_a.in, F = m->fc_a.out;
    a->x = x;
    a->T = T;
    a->N = N;
    ARENA_TAKE(a->a_lin, ar, rows * F);
    ARENA_TAKE(a->a_bn, ar, rows * F);
    ARENA_TAKE(a->a_mean, ar, F);
    ARENA_TAKE(a->a_rstd, ar, F);
    ARENA_TAKE(a->g, ar, rows * F);
    ARENA_TAKE(a->gated, ar, rows * F);

    snn_linear_forward(a->a_lin, x, m->fc_a.w, m->fc_a.b, rows, D, F);
    snn_linear_forward(a->g, x, m->fc_g.w, m->fc_g.b, rows, D, F);

    snn_batchnorm_forward(a->a_bn, a->a_mean, a->a_rstd, a->a_lin, m->bn_a.gamma, m->bn_a.beta,
                          m->bn_a.rmean, m->bn_a.rvar, rows, F, training, momentum, BN_EPS);
    int rc = snn_lif_run(m->lif_a, &a->a_s, &a->a_h, a->a_bn, T, N * F, ar);
    if (rc)
        return rc;

    for (size_t i = 0; i < rows * F; i++)
        a->gated[i] = a->a_s[i] * a->g[i];

    return snn_lbl_forward(&m->out, &a->out, a->gated, T, N, training, momentum, ar);
}

int snn_ffn_backward(snn_ffn *m, const snn_ffn_act *a, float *dx, const float *dout,
                     snn_arena *ar)
{
    size_t rows = (size_t)a->T * a->N;
    int D = m->fc_a.in, F = m->fc_a.out;
    float *dgated, *das, *dg, *dabn, *dalin;
    ARENA_ZEROS(dgated, ar, rows * F);
    ARENA_ZEROS(das, ar, rows * F);
    ARENA_ZEROS(dg, ar, rows * F);
    ARENA_ZEROS(dabn, ar, rows * F);
    ARENA_ZEROS(dalin, ar, rows * F);

    int rc = snn_lbl_backward(&m->out, &a->out, dgated, dout, NULL, ar);
    if (rc)
        return rc;

    for (size_t i = 0; i < rows * F; i++) {
        das[i] = dgated[i] * a->g[i];
        dg[i] = dgated[i] * a->a_s[i];
    }

    snn_lif_back(m->lif_a, dabn, das, a->a_h, a->a_s, a->a_bn, a->T, a->N * F);
    snn_batchnorm_backward(dalin, m->bn_a.dgamma, m->bn_a.dbeta, dabn, a->a_lin, a->a_mean,
                           a->a_rstd, m->bn_a.gamma, rows, F);

    snn_linear_backward(dx, m->fc_a.dw, m->fc_a.db, dalin, a->x, m->fc_a.w, rows, D, F);
    snn_linear_backward(dx, m->fc_g.dw, m->fc_g.db, dg, a->x, m->fc_g.w, rows, D, F);
    return SNN_OK;
}

/* ---- Block: x1 = x + attn(x); x2 = x1 + ffn(x1). Shapes (T,N,D). */

int snn_block_forward(snn_block *m, snn_block_act *a, const float *x, const int *off, int nseg,
                      int T, size_t N, int D, int training, float momentum, snn_arena *ar)
{
    size_t n = (size_t)T * N * D;
    int rc = snn_attention_forward(&m->attn, &a->attn, x, off, N, x, off, N, nseg, T, training,
                                   momentum, ar);
    if (rc)
        return rc;
    ARENA_TAKE(a->x1, ar, n);
    for (size_t i = 0; i < n; i++)
        a->x1[i] = x[i] + a->attn.proj.s[i];

    if ((rc = snn_ffn_forward(&m->ffn, &a->ffn, a->x1, T, N, training, momentum, ar)))
        return rc;
    ARENA_TAKE(a->x2, ar, n);
    for (size_t i = 0; i < n; i++)
        a->x2[i] = a->x1[i] + a->ffn.out.s[i];
    return SNN_OK;
}

int snn_block_backward(snn_block *m, const snn_block_act *a, float *dx, const float *dout,
                       int D, snn_arena *ar)
{
    size_t n = (size_t)a->attn.T * a->attn.Nq * D;
    float *dx1;
    ARENA_TAKE(dx1, ar, n);
    memcpy(dx1, dout, n * sizeof(float));

    int rc = snn_ffn_backward(&m->ffn, &a->ffn, dx1, dout, ar);
    if (rc)
        return rc;

    for (size_t i = 0; i < n; i++)
        dx[i] += dx1[i];
    return snn_attention_backward(&m->attn, &a->attn, dx, dx, dx1, ar);
}

/* ---- Spike coder: (N,D) floats -> repeat T -> LayerNorm -> LIF -> (T,N,D).
 * The LayerNorm of T identical copies is computed once. */

int snn_coder_forward(snn_coder *m, snn_coder_act *a, const float *x, int T, size_t N,
                      snn_arena *ar)
{
    int D = m->ln.C;
    size_t nd = N * D;
    a->x = x;
    a->T = T;
    a->N = N;
    ARENA_TAKE(a->ln, ar, nd);
    ARENA_TAKE(a->mean, ar, N);
    ARENA_TAKE(a->rstd, ar, N);
    ARENA_TAKE(a->rep, ar, (size_t)T * nd);

    snn_layernorm_forward(a->ln, a->mean, a->rstd, x, m->ln.gamma, m->ln.beta, N, D, 1e-5f);
    for (int t = 0; t < T; t++)
        memcpy(a->rep + (size_t)t * nd, a->ln, nd * sizeof(float));

    return snn_lif_run(m->lif, &a->s, &a->h, a->rep, T, nd, ar);
}

int snn_coder_backward(snn_coder *m, const snn_coder_act *a, float *dx, const float *ds,
                       snn_arena *ar)
{
    int D = m->ln.C;
    size_t nd = a->N * D;
    float *drep, *dln;
    ARENA_ZEROS(drep, ar, (size_t)a->T * nd);
    ARENA_ZEROS(dln, ar, nd);

    snn_lif_back(m->lif, drep, ds, a->h, a->s, a->rep, a->T, nd);
    for (int t = 0; t < a->T; t++)
        for (size_t i = 0; i < nd; i++)
            dln[i] += drep[(size_t)t * nd + i];

    snn_layernorm_backward(dx, m->ln.dgamma, m->ln.dbeta, dln, a->x, a->mean, a->rstd,
                           m->ln.gamma, a->N, D);
    return SNN_OK;
}

/* ---- Temporal readout and L2 normalisation: (T,N,D) -> (N,D). */

int snn_embed_forward(snn_readout_act *a, const float *x, const float *w, int T, size_t N,
                      int D, snn_arena *ar)
{
    ARENA_TAKE(a->ro, ar, N * D);
    ARENA_TAKE(a->norm, ar, N);
    ARENA_TAKE(a->emb, ar, N * D);
    snn_readout_forward(a->ro, x, w, T, N, D);
    snn_l2norm_forward(a->emb, a->norm, a->ro, N, D);
    return SNN_OK;
}

int snn_embed_backward(const snn_readout_act *a, float *dx, float *dw, const float *demb,
                       const float *x, const float *w, int T, size_t N, int D, snn_arena *ar)
{
    float *dro;
    ARENA_ZEROS(dro, ar, N * D);
    snn_l2norm_backward(dro, demb, a->emb, a->norm, N, D);
    snn_readout_backward(dx, dw, dro, x, w, T, N, D);
    return SNN_OK;
}
