/* Forward/backward pairs of the composite modules (model.h) and the activations
 * each keeps for backward. Internal to libsnn.
 *
 * Shape letters as in model.h; activations are time-major (T,N,C). Backward
 * functions ADD into dx and into the parameter gradients. */
#ifndef SNN_MODULES_H
#define SNN_MODULES_H

#include "model.h"

/* Runs a LIF module over (T,n) and updates its firing statistics. */
int snn_lif_run(snn_lif *l, float **s, float **h, const float *x, int T, size_t n,
                snn_arena *ar);
int snn_lif_back(snn_lif *l, float *dx, const float *ds, const float *h, const float *s,
                 const float *x, int T, size_t n);

typedef struct {
    const float *x;
    float *lin, *bn, *mean, *rstd, *h, *s;
    int T;
    size_t N;
} snn_lbl_act;

int snn_lbl_forward(snn_lbl *m, snn_lbl_act *a, const float *x, int T, size_t N, int training,
                    float momentum, snn_arena *ar);
/* dbn_extra (T,N,out), when not NULL, is an extra gradient at the BN output. */
int snn_lbl_backward(snn_lbl *m, const snn_lbl_act *a, float *dx, const float *ds,
                     const float *dbn_extra, snn_arena *ar);

/* Query rows and key/value rows are split into nseg aligned segments, given by
 * nseg+1 offsets each (qoff, kvoff). Segment i of the queries attends to segment
 * i of the keys. Self-attention passes the same input and offsets twice. */
typedef struct {
    snn_lbl_act q, k, v, proj;
    float *y, *hy, *sy, *kv;
    const int *qoff, *kvoff;
    int nseg, T;
    size_t Nq, Nkv;
} snn_attn_act;

int snn_attention_forward(snn_attention *m, snn_attn_act *a, const float *xq, const int *qoff,
                          size_t Nq, const float *xkv, const int *kvoff, size_t Nkv, int nseg,
                          int T, int training, float momentum, snn_arena *ar);
int snn_attention_backward(snn_attention *m, const snn_attn_act *a, float *dxq, float *dxkv,
                           const float *dout, snn_arena *ar);

typedef struct {
    const float *x;
    float *a_lin, *a_bn, *a_mean, *a_rstd, *a_h, *a_s, *g, *gated;
    snn_lbl_act out;
    int T;
    size_t N;
} snn_ffn_act;

int snn_ffn_forward(snn_ffn *m, snn_ffn_act *a, const float *x, int T, size_t N, int training,
                    float momentum, snn_arena *ar);
int snn_ffn_backward(snn_ffn *m, const snn_ffn_act *a, float *dx, const float *dout,
                     snn_arena *ar);

typedef struct {
    snn_attn_act attn;
    snn_ffn_act ffn;
    float *x1, *x2; /* after the attention and after the FFN residual */
} snn_block_act;

int snn_block_forward(snn_block *m, snn_block_act *a, const float *x, const int *off, int nseg,
                      int T, size_t N, int D, int training, float momentum, snn_arena *ar);
int snn_block_backward(snn_block *m, const snn_block_act *a, float *dx, const float *dout,
                       int D, snn_arena *ar);

typedef struct {
    const float *x;
    float *ln, *mean, *rstd, *rep, *h, *s;
    int T;
    size_t N;
} snn_coder_act;

int snn_coder_forward(snn_coder *m, snn_coder_act *a, const float *x, int T, size_t N,
                      snn_arena *ar);
int snn_coder_backward(snn_coder *m, const snn_coder_act *a, float *dx, const float *ds,
                       snn_arena *ar);

/* Temporal readout then row L2 normalisation: (T,N,D) -> (N,D). */
typedef struct { float *ro, *norm, *emb; } snn_readout_act;
int snn_embed_forward(snn_readout_act *a, const float *x, const float *w, int T, size_t N,
                      int D, snn_arena *ar);
int snn_embed_backward(const snn_readout_act *a, float *dx, float *dw, const float *demb,
                       const float *x, const float *w, int T, size_t N, int D, snn_arena *ar);

#endif
