/* The image and text encoders: forward passes that produce the retrieval
 * embeddings, and the backward passes of training. Shapes as in model.h. */
#include <string.h>

#include "model.h"
#include "modules.h"

#define BN_EPS 1e-5f

/* ---- layout changes between the convolution (NCHW) and BatchNorm (rows, C) */

static void nchw_to_nhwc(float *out, const float *in, size_t B, int C, int HW)
{
    for (size_t b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW; p++)
                out[(b * HW + p) * C + c] = in[(b * C + c) * HW + p];
}

static void nhwc_to_nchw(float *out, const float *in, size_t B, int C, int HW)
{
    for (size_t b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW; p++)
                out[(b * C + c) * HW + p] = in[(b * HW + p) * C + c];
}

/* ---- convolution stage: conv3x3 -> BN -> LIF -> maxpool 2x2.
 * (T*B,C,H,W) -> (T*B,OC,H/2,W/2) */

typedef struct {
    const float *x;
    float *conv, *conv_hwc, *bn, *mean, *rstd, *h, *s, *s_chw, *pool;
    int *argmax;
    int C, OC, H, W;
} stage_act;

static int stage_forward(snn_stem *st, int i, stage_act *a, const float *x, int T, int B, int C,
                         int H, int W, int training, float momentum, snn_arena *ar)
{
    int OC = st->conv[i].out, HW = H * W;
    size_t TB = (size_t)T * B, n = TB * OC * HW;
    *a = (stage_act){.x = x, .C = C, .OC = OC, .H = H, .W = W};
    float *col;
    ARENA_TAKE(col, ar, (size_t)C * 9 * HW);
    ARENA_TAKE(a->conv, ar, n);
    ARENA_TAKE(a->conv_hwc, ar, n);
    ARENA_TAKE(a->bn, ar, n);
    ARENA_TAKE(a->mean, ar, OC);
    ARENA_TAKE(a->rstd, ar, OC);
    ARENA_TAKE(a->s_chw, ar, n);
    ARENA_TAKE(a->pool, ar, n / 4);
    if (!(a->argmax = snn_arena_ints(ar, n / 4)))
        return SNN_ENOMEM;

    snn_conv3x3_forward(a->conv, x, st->conv[i].w, NULL, col, (int)TB, C, OC, H, W);
    nchw_to_nhwc(a->conv_hwc, a->conv, TB, OC, HW);

    snn_batchnorm_forward(a->bn, a->mean, a->rstd, a->conv_hwc, st->bn[i].gamma, st->bn[i].beta,
                          st->bn[i].rmean, st->bn[i].rvar, TB * HW, OC, training, momentum,
                          BN_EPS);
    int rc = snn_lif_run(st->lif[i], &a->s, &a->h, a->bn, T, (size_t)B * HW * OC, ar);
    if (rc)
        return rc;

    nhwc_to_nchw(a->s_chw, a->s, TB, OC, HW);
    snn_maxpool2_forward(a->pool, a->argmax, a->s_chw, (int)TB, OC, H, W);
    return SNN_OK;
}

static int stage_backward(snn_stem *st, int i, const stage_act *a, float *dx, const float *dpool,
                          int T, int B, snn_arena *ar)
{
    int OC = a->OC, HW = a->H * a->W;
    size_t TB = (size_t)T * B, n = TB * OC * HW;
    float *ds_chw, *ds, *dbn, *dconv_hwc, *dconv, *col;
    ARENA_ZEROS(ds_chw, ar, n);
    ARENA_TAKE(ds, ar, n);
    ARENA_ZEROS(dbn, ar, n);
    ARENA_ZEROS(dconv_hwc, ar, n);
    ARENA_TAKE(dconv, ar, n);
    ARENA_TAKE(col, ar, (size_t)a->C * 9 * HW);

    snn_maxpool2_backward(ds_chw, dpool, a->argmax, (int)TB, OC, a->H, a->W);
    nchw_to_nhwc(ds, ds_chw, TB, OC, HW);

    snn_lif_back(st->lif[i], dbn, ds, a->h, a->s, a->bn, T, (size_t)B * HW * OC);
    snn_batchnorm_backward(dconv_hwc, st->bn[i].dgamma, st->bn[i].dbeta, dbn, a->conv_hwc,
                           a->mean, a->rstd, st->bn[i].gamma, TB * HW, OC);
    nhwc_to_nchw(dconv, dconv_hwc, TB, OC, HW);

    snn_conv3x3_backward(dx, st->conv[i].dw, NULL, dconv, a->x, st->conv[i].w, col, (int)TB,
                         a->C, OC, a->H, a->W);
    return SNN_OK;
}

/* ---- stem: pixels (B,3,S,S) -> spikes (T, B*G*G, D) and the float features at
 * the projection's BN output (T, B*G*G, D). */

typedef struct {
    float *rep; /* (T*B,3,S,S) */
    stage_act stages[SNN_MAX_STAGES];
    float *pconv, *pconv_hwc, *pbn, *pmean, *prstd, *grid_hwc, *tokens;
    snn_lbl_act proj;
} stem_act;

static int pos_forward(snn_stem *st, stem_act *a, const float *x, size_t TB, int C, int G,
                       int training, float momentum, snn_arena *ar)
{
    int HW = G * G;
    size_t n = TB * C * HW;
    float *col;
    ARENA_TAKE(col, ar, (size_t)C * 9 * HW);
    ARENA_TAKE(a->pconv, ar, n);
    ARENA_TAKE(a->pconv_hwc, ar, n);
    ARENA_TAKE(a->pbn, ar, n);
    ARENA_TAKE(a->pmean, ar, C);
    ARENA_TAKE(a->prstd, ar, C);
    ARENA_TAKE(a->grid_hwc, ar, n);
    ARENA_TAKE(a->tokens, ar, n);

    snn_conv3x3_forward(a->pconv, x, st->pos_conv.w, NULL, col, (int)TB, C, C, G, G);
    nchw_to_nhwc(a->pconv_hwc, a->pconv, TB, C, HW);
    snn_batchnorm_forward(a->pbn, a->pmean, a->prstd, a->pconv_hwc, st->pos_bn.gamma,
                          st->pos_bn.beta, st->pos_bn.rmean, st->pos_bn.rvar, TB * HW, C,
                          training, momentum, BN_EPS);

    nchw_to_nhwc(a->grid_hwc, x, TB, C, HW);
    for (size_t i = 0; i < n; i++)
        a->tokens[i] = a->grid_hwc[i] + a->pbn[i];
    return SNN_OK;
}

static int pos_backward(snn_stem *st, const stem_act *a, float *dx_chw, const float *dtokens,
                        const float *x, size_t TB, int C, int G, snn_arena *ar)
{
    int HW = G * G;
    size_t n = TB * C * HW;
    float *dconv_hwc, *dconv, *dgrid, *col;
    ARENA_ZEROS(dconv_hwc, ar, n);
    ARENA_TAKE(dconv, ar, n);
    ARENA_TAKE(dgrid, ar, n);
    ARENA_TAKE(col, ar, (size_t)C * 9 * HW);

    snn_batchnorm_backward(dconv_hwc, st->pos_bn.dgamma, st->pos_bn.dbeta, dtokens,
                           a->pconv_hwc, a->pmean, a->prstd, st->pos_bn.gamma, TB * HW, C);
    nhwc_to_nchw(dconv, dconv_hwc, TB, C, HW);
    snn_conv3x3_backward(dx_chw, st->pos_conv.dw, NULL, dconv, x, st->pos_conv.w, col, (int)TB,
                         C, C, G, G);

    nhwc_to_nchw(dgrid, dtokens, TB, C, HW);
    for (size_t i = 0; i < n; i++)
        dx_chw[i] += dgrid[i];
    return SNN_OK;
}

static int stem_forward(snn_model *m, stem_act *a, const float *pixels, int B, int training,
                        snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    snn_stem *st = &m->img.stem;
    int T = c->time_steps, S = c->image_size, G = c->grid;
    size_t img = (size_t)3 * S * S, TB = (size_t)T * B;
    float mom = c->bn_momentum;

    ARENA_TAKE(a->rep, ar, TB * img);
    for (int t = 0; t < T; t++)
        memcpy(a->rep + (size_t)t * B * img, pixels, (size_t)B * img * sizeof(float));

    const float *x = a->rep;
    int C = 3, H = S, rc;
    for (int i = 0; i < st->stages; i++) {
        if ((rc = stage_forward(st, i, &a->stages[i], x, T, B, C, H, H, training, mom, ar)))
            return rc;
        x = a->stages[i].pool;
        C = st->conv[i].out;
        H /= 2;
    }

    if ((rc = pos_forward(st, a, x, TB, C, G, training, mom, ar)))
        return rc;
    /* (T*B*G*G, C) rows are already time-major: row ((t*B + b)*G*G + p). */
    return snn_lbl_forward(&st->proj, &a->proj, a->tokens, T, (size_t)B * G * G, training, mom,
                           ar);
}

static int stem_backward(snn_model *m, const stem_act *a, const float *ds, const float *dfeat,
                         int B, snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    snn_stem *st = &m->img.stem;
    int T = c->time_steps, G = c->grid, L = st->stages;
    int C = st->conv[L - 1].out;
    size_t TB = (size_t)T * B, ntok = TB * G * G * C;

    float *dtokens, *dx;
    ARENA_ZEROS(dtokens, ar, ntok);
    int rc = snn_lbl_backward(&st->proj, &a->proj, dtokens, ds, dfeat, ar);
    if (rc)
        return rc;

    ARENA_ZEROS(dx, ar, ntok);
    if ((rc = pos_backward(st, a, dx, dtokens, a->stages[L - 1].pool, TB, C, G, ar)))
        return rc;

    for (int i = L - 1; i >= 0; i--) {
        const stage_act *sa = &a->stages[i];
        float *dprev;
        ARENA_ZEROS(dprev, ar, TB * sa->C * sa->H * sa->W);
        if ((rc = stage_backward(st, i, sa, dprev, dx, T, B, ar)))
            return rc;
        dx = dprev; /* the gradient of the pixels is not needed after stage 0 */
    }
    return SNN_OK;
}

/* ---- shared tail: blocks, temporal readout, L2 normalisation */

struct snn_enc_act {
    stem_act stem;
    snn_coder_act coder;
    snn_block_act blocks[SNN_MAX_DEPTH];
    snn_readout_act ro;
    snn_readout_act feat_ro;
    const int *ids, *pos;     /* text: token ids and positions (N) */
    const float *feat_src;    /* image: (T,N,D) projection BN output; text: (N,D) embeddings */
    float *emb_sum;           /* text: token + position embeddings (N,D) */
};

static int blocks_forward(snn_model *m, snn_block *blocks, snn_enc_act *act, const float *x,
                          snn_enc_out *out, int training, snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    int T = c->time_steps, D = c->dim, rc;
    for (int l = 0; l < c->depth; l++) {
        if ((rc = snn_block_forward(&blocks[l], &act->blocks[l], x, out->off, out->B, T, out->N,
                                    D, training, c->bn_momentum, ar)))
            return rc;
        x = act->blocks[l].x2;
    }
    out->spikes = (float *)x;
    return SNN_OK;
}

static int blocks_backward(snn_model *m, snn_block *blocks, const snn_enc_act *act,
                           const float *readout, float *dreadout, const snn_enc_out *out,
                           const snn_enc_grad *g, float **dx_out, snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    int T = c->time_steps, D = c->dim, rc;
    size_t n = (size_t)T * out->N * D;
    float *dx;
    ARENA_ZEROS(dx, ar, n);
    if (g->demb && (rc = snn_embed_backward(&act->ro, dx, dreadout, g->demb, out->spikes,
                                            readout, T, out->N, D, ar)))
        return rc;
    if (g->dspikes)
        for (size_t i = 0; i < n; i++)
            dx[i] += g->dspikes[i];

    for (int l = c->depth - 1; l >= 0; l--) {
        float *dprev;
        ARENA_ZEROS(dprev, ar, n);
        if ((rc = snn_block_backward(&blocks[l], &act->blocks[l], dprev, dx, D, ar)))
            return rc;
        dx = dprev;
    }
    *dx_out = dx;
    return SNN_OK;
}

static int start_output(snn_enc_out *out, int B, size_t N, const int *off, snn_arena *ar)
{
    memset(out, 0, sizeof *out);
    out->B = B;
    out->N = N;
    out->off = off;
    out->act = (snn_enc_act *)snn_arena_zeros(ar, (sizeof(snn_enc_act) + 3) / 4);
    return out->act ? SNN_OK : SNN_ENOMEM;
}

/* ---- image encoder */

int snn_image_forward(snn_model *m, snn_enc_out *out, const float *pixels, int B, int training,
                      snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    int T = c->time_steps, D = c->dim, GG = c->grid * c->grid;
    size_t N = (size_t)B * GG;
    int *off = snn_arena_ints(ar, (size_t)B + 1);
    if (!off)
        return SNN_ENOMEM;
    for (int b = 0; b <= B; b++)
        off[b] = b * GG;

    int rc = start_output(out, B, N, off, ar);
    if (rc)
        return rc;
    snn_enc_act *act = out->act;
    if ((rc = stem_forward(m, &act->stem, pixels, B, training, ar)) ||
        (rc = blocks_forward(m, m->img.blocks, act, act->stem.proj.s, out, training, ar)) ||
        (rc = snn_embed_forward(&act->ro, out->spikes, m->img.readout, T, N, D, ar)))
        return rc;
    out->emb = act->ro.emb;

    /* Float features: the projection's BN output, averaged over time. */
    float avg[SNN_MAX_T];
    for (int t = 0; t < T; t++)
        avg[t] = 1.0f / (float)T;
    act->feat_src = act->stem.proj.bn;
    if ((rc = snn_embed_forward(&act->feat_ro, act->feat_src, avg, T, N, D, ar)))
        return rc;
    out->feat = act->feat_ro.emb;
    out->feat_raw = act->feat_ro.ro;
    return SNN_OK;
}

int snn_image_backward_full(snn_model *m, const snn_enc_out *out, const snn_enc_grad *g,
                            snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    int T = c->time_steps, D = c->dim;
    const snn_enc_act *act = out->act;
    float *ds, *dbn = NULL;
    int rc = blocks_backward(m, m->img.blocks, act, m->img.readout, m->img.dreadout, out, g,
                             &ds, ar);
    if (rc)
        return rc;

    float avg[SNN_MAX_T];
    for (int t = 0; t < T; t++)
        avg[t] = 1.0f / (float)T;
    if (g->dfeat || g->dfeat_raw)
        ARENA_ZEROS(dbn, ar, (size_t)T * out->N * D);
    if (g->dfeat && (rc = snn_embed_backward(&act->feat_ro, dbn, NULL, g->dfeat, act->feat_src,
                                             avg, T, out->N, D, ar)))
        return rc;
    if (g->dfeat_raw)
        snn_readout_backward(dbn, NULL, g->dfeat_raw, act->feat_src, avg, T, out->N, D);
    return stem_backward(m, &act->stem, ds, dbn, out->B, ar);
}

int snn_image_backward(snn_model *m, const snn_enc_out *out, const float *demb,
                       const float *dfeat, snn_arena *ar)
{
    snn_enc_grad g = {.demb = demb, .dfeat = dfeat};
    return snn_image_backward_full(m, out, &g, ar);
}

/* ---- text encoder */

int snn_text_forward(snn_model *m, snn_enc_out *out, const int *ids, const int *off, int B,
                     int training, snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    int T = c->time_steps, D = c->dim;
    size_t N = (size_t)off[B];
    int rc = start_output(out, B, N, off, ar);
    if (rc)
        return rc;
    snn_enc_act *act = out->act;

    int *pos = snn_arena_ints(ar, N);
    if (!pos)
        return SNN_ENOMEM;
    act->ids = ids;
    act->pos = pos;
    for (int b = 0; b < B; b++)
        for (int i = off[b]; i < off[b + 1]; i++)
            pos[i] = i - off[b];

    ARENA_TAKE(act->emb_sum, ar, N * D);
    snn_embedding_forward(act->emb_sum, ids, pos, m->txt.tok, m->txt.pos, N, D);
    act->feat_src = act->emb_sum;

    if ((rc = snn_coder_forward(&m->txt.coder, &act->coder, act->emb_sum, T, N, ar)) ||
        (rc = blocks_forward(m, m->txt.blocks, act, act->coder.s, out, training, ar)) ||
        (rc = snn_embed_forward(&act->ro, out->spikes, m->txt.readout, T, N, D, ar)))
        return rc;
    out->emb = act->ro.emb;

    float one = 1.0f;
    if ((rc = snn_embed_forward(&act->feat_ro, act->emb_sum, &one, 1, N, D, ar)))
        return rc;
    out->feat = act->feat_ro.emb;
    out->feat_raw = act->feat_ro.ro;
    return SNN_OK;
}

int snn_text_backward_full(snn_model *m, const snn_enc_out *out, const snn_enc_grad *g,
                           snn_arena *ar)
{
    const snn_config *c = &m->cfg;
    int D = c->dim;
    size_t N = out->N;
    const snn_enc_act *act = out->act;
    float *ds, *dsum;
    int rc = blocks_backward(m, m->txt.blocks, act, m->txt.readout, m->txt.dreadout, out, g,
                             &ds, ar);
    if (rc)
        return rc;

    ARENA_ZEROS(dsum, ar, N * D);
    if ((rc = snn_coder_backward(&m->txt.coder, &act->coder, dsum, ds, ar)))
        return rc;
    if (g->dfeat) {
        float one = 1.0f;
        if ((rc = snn_embed_backward(&act->feat_ro, dsum, NULL, g->dfeat, act->emb_sum, &one, 1,
                                     N, D, ar)))
            return rc;
    }
    /* feat_raw is the embedding sum itself (a readout over one step of weight 1). */
    if (g->dfeat_raw)
        for (size_t i = 0; i < N * D; i++)
            dsum[i] += g->dfeat_raw[i];

    snn_embedding_backward(m->txt.dtok, m->txt.dpos, dsum, act->ids, act->pos, N, D);
    return SNN_OK;
}

int snn_text_backward(snn_model *m, const snn_enc_out *out, const float *demb,
                      const float *dfeat, snn_arena *ar)
{
    snn_enc_grad g = {.demb = demb, .dfeat = dfeat};
    return snn_text_backward_full(m, out, &g, ar);
}
