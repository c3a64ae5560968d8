/* The CMSF network: a spiking image encoder (pixels -> token set), a spiking
 * text encoder (token ids -> token set), the optional cross-modal fusion modules
 * used in training, their parameters, and the modules they are built from.
 *
 * Shape letters: T time steps, B items (images or captions) in a batch, N token
 * rows of all items (B*G*G for images, the sum of caption lengths for text),
 * D model width, F FFN hidden width, S image side, G token-grid side. */
#ifndef SNN_MODEL_H
#define SNN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "layers.h"
#include "snn.h"

#define SNN_MAX_T 8
#define SNN_MAX_STAGES 4
#define SNN_MAX_DEPTH 8
#define SNN_MAX_LIFS 160

/* Hyperparameters; every field is stored in the model file's metadata. */
typedef struct {
    int time_steps;     /* T */
    int dim;            /* D */
    int heads;          /* attention heads; D must be a multiple */
    int ffn_hidden;     /* F */
    int depth;          /* blocks per encoder */
    int image_size;     /* S */
    int grid;           /* G; S/G must be a power of two (one stem stage per halving) */
    int stem_channels;  /* channels of the first stem stage, doubled per stage */
    int vocab_size;
    int max_len;        /* maximum caption length in tokens */
    float tau;          /* LIF membrane time constant */
    float vth;          /* LIF threshold */
    float vth_attn;     /* threshold of the LIF after q(k^T v) */
    float surrogate_alpha;
    float learn_vth;    /* > 0: every LIF threshold is learnable and starts here */
    float coder_vth;    /* initial (learnable) threshold of the spike coders */
    float attn_scale;
    float readout_first, readout_rest; /* initial temporal readout weights */
    int ann;            /* ANN mode: ReLU for every LIF, T = 1 */
    int fusion;         /* 1: the model has the fusion modules (fuse.img.*, fuse.txt.*) */
    float bn_momentum;
    float sim_temperature;  /* log-sum-exp pooling temperature */
    float loss_temperature; /* InfoNCE temperature */
    float margin;           /* InfoNCE margin */
    float img_mean[3], img_std[3];
    uint64_t vocab_fingerprint;
} snn_config;

void snn_config_default(snn_config *c);
/* Checks sizes and ranges; the message names the field and the fix. */
int snn_config_check(const snn_config *c, snn_error *err);
/* Value bits needed per spike value in streams: the block output sums 2*depth+1
 * binary spike maps along the residual path. */
int snn_config_value_bits(const snn_config *c);

/* ---- modules: parameter pointers (value and gradient) into the model's buffers */

typedef struct { float *w, *b, *dw, *db; int in, out; } snn_linear;
typedef struct { float *gamma, *beta, *dgamma, *dbeta, *rmean, *rvar; int C; } snn_bn;
typedef struct { float *gamma, *beta, *dgamma, *dbeta; int C; } snn_ln;
typedef struct {
    snn_lif_params p;
    float *vth, *dvth;    /* learnable threshold (scalar), or NULL */
    double spikes, count; /* firing statistics since the last snn_model_reset_rates */
    char name[96];
} snn_lif;

/* Linear -> BatchNorm -> LIF, the unit most layers are made of. */
typedef struct { snn_linear lin; snn_bn bn; snn_lif *lif; } snn_lbl;

typedef struct {
    snn_lbl q, k, v, proj;
    snn_lif *attn_lif; /* LIF with threshold vth_attn after q(k^T v) */
    int heads;
    float scale;
} snn_attention;

typedef struct {
    snn_linear fc_a, fc_g; /* together Linear(D -> 2F), split into (a, g) */
    snn_bn bn_a;
    snn_lif *lif_a;
    snn_lbl out;           /* Linear(F -> D) -> BN -> LIF */
} snn_ffn;

typedef struct { snn_attention attn; snn_ffn ffn; } snn_block;

/* Repeat T times -> LayerNorm -> LIF with learnable threshold. */
typedef struct { snn_ln ln; snn_lif *lif; } snn_coder;

typedef struct {
    int stages;
    snn_linear conv[SNN_MAX_STAGES]; /* 3x3 kernels stored as (OC, C*9) */
    snn_bn bn[SNN_MAX_STAGES];
    snn_lif *lif[SNN_MAX_STAGES];
    snn_linear pos_conv;             /* position-encoding 3x3 conv */
    snn_bn pos_bn;
    snn_lbl proj;                    /* Linear(C_last -> D) -> BN -> LIF(vth_attn) */
} snn_stem;

typedef struct {
    snn_stem stem;
    snn_block blocks[SNN_MAX_DEPTH];
    float *readout, *dreadout; /* (T) */
} snn_image_encoder;

typedef struct {
    float *tok, *dtok; /* (V,D) */
    float *pos, *dpos; /* (max_len,D) */
    snn_coder coder;
    snn_block blocks[SNN_MAX_DEPTH];
    float *readout, *dreadout;
} snn_text_encoder;

/* Fusion of one direction: the tokens of one modality query the aligned item of
 * the other through cross attention, then a gated FFN and a temporal readout. */
typedef struct {
    snn_attention attn;        /* q from this modality, k and v from the other */
    snn_ffn ffn;
    float *readout, *dreadout; /* (T) */
} snn_fusion;

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[4];
    size_t offset, size; /* in floats, within params or buffers */
    int buffer;          /* 1: running statistic, not trained */
    int decay;           /* weight decay applies (matrices, not norms/biases) */
} snn_tensor_info;

typedef struct {
    snn_config cfg;
    float *params, *grads, *adam_m, *adam_v;
    size_t n_params;
    float *buffers;
    size_t n_buffers;
    snn_tensor_info *tensors;
    size_t n_tensors, cap_tensors;
    snn_lif lifs[SNN_MAX_LIFS];
    int n_lifs;
    snn_image_encoder img;
    snn_text_encoder txt;
    snn_fusion fuse_img, fuse_txt; /* image and caption side; NULL pointers unless cfg.fusion */
    long step;  /* optimiser steps taken */
    long epoch; /* epochs completed, stored in checkpoints */
    uint64_t fingerprint; /* of the model file it was loaded from, else 0 */
} snn_model;

/* Builds a model with freshly initialised parameters (PyTorch default inits),
 * drawing from the generator seeded with seed. */
int snn_model_new(snn_model **out, const snn_config *cfg, uint64_t seed, snn_error *err);
void snn_model_free(snn_model *m);
void snn_model_zero_grad(snn_model *m);
void snn_model_reset_rates(snn_model *m);

/* Model files (safetensors): parameters and running statistics, hyperparameters in
 * the metadata. with_optimizer adds the AdamW moments, step and epoch counts,
 * making a checkpoint that training can resume from. extra_meta contains n_extra
 * strings, alternating keys and values, stored as further metadata. */
int snn_model_save(const snn_model *m, const char *path, int with_optimizer,
                   const char *const *extra_meta, size_t n_extra, snn_error *err);
int snn_model_load(snn_model **out, const char *path, snn_error *err);
/* Hash of the hyperparameters, parameters and running statistics: the identity
 * that streams record, equal for a model file and a checkpoint of the same state. */
uint64_t snn_model_fingerprint(const snn_model *m);

/* ---- encoder outputs and activations kept for backward */

typedef struct snn_enc_act snn_enc_act;

typedef struct {
    int B;              /* items */
    size_t N;           /* token rows */
    const int *off;     /* (B+1) row offsets of the items */
    float *spikes;      /* (T,N,D) block output: sums of binary spike maps */
    float *emb;         /* (N,D) temporal readout, L2-normalised: the retrieval embedding */
    float *feat;        /* (N,D) float (pre-spike) features, L2-normalised */
    float *feat_raw;    /* (N,D) the same features before the L2 normalisation */
    snn_enc_act *act;   /* what backward needs (training only) */
} snn_enc_out;

/* Gradients arriving at an encoder's outputs; any may be NULL. */
typedef struct {
    const float *demb;      /* (N,D) at emb */
    const float *dfeat;     /* (N,D) at feat */
    const float *dspikes;   /* (T,N,D) at spikes, the block output */
    const float *dfeat_raw; /* (N,D) at feat_raw */
} snn_enc_grad;

/* Encodes B images, (B,3,S,S) normalised floats. Buffers come from arena;
 * training selects batch statistics and keeps activations for backward. */
int snn_image_forward(snn_model *m, snn_enc_out *out, const float *pixels, int B,
                      int training, snn_arena *arena);
/* Encodes B captions packed in ids with row offsets off (B+1). */
int snn_text_forward(snn_model *m, snn_enc_out *out, const int *ids, const int *off, int B,
                     int training, snn_arena *arena);
/* Backward from the gradients of emb and feat (either may be NULL). */
int snn_image_backward(snn_model *m, const snn_enc_out *out, const float *demb,
                       const float *dfeat, snn_arena *arena);
int snn_text_backward(snn_model *m, const snn_enc_out *out, const float *demb,
                      const float *dfeat, snn_arena *arena);
/* Backward from the gradients of every output, as the fusion modules add
 * gradients at the block output and at the unnormalised float features. */
int snn_image_backward_full(snn_model *m, const snn_enc_out *out, const snn_enc_grad *g,
                            snn_arena *arena);
int snn_text_backward_full(snn_model *m, const snn_enc_out *out, const snn_enc_grad *g,
                           snn_arena *arena);

/* ---- cross-modal fusion (models with cfg.fusion == 1) */

typedef struct snn_fuse_act snn_fuse_act;

typedef struct {
    int B;              /* items, as in the query's encoder output */
    size_t N;           /* token rows of the query */
    const int *off;     /* (B+1) row offsets, the query's */
    float *emb;         /* (N,D) fused token embeddings, L2-normalised */
    snn_fuse_act *act;  /* what backward needs */
} snn_fuse_out;

/* Fuses item b of query with item b of context, for every b < B: the query's
 * block-output spikes attend to the context's (cross attention), then a residual,
 * the gated FFN with its residual, the temporal readout of f, the query's
 * feat_raw added, and row L2 normalisation. f is &m->fuse_img when the query
 * is the image side, &m->fuse_txt when it is the caption side. Buffers come from
 * arena; training selects batch statistics. The result refers to query and
 * context, which must stay unchanged until the backward pass.
 * Errors: SNN_EINVAL when the model has no fusion modules or query and context
 * differ in B; SNN_ENOMEM. */
int snn_fuse_forward(snn_model *m, snn_fusion *f, snn_fuse_out *out, const snn_enc_out *query,
                     const snn_enc_out *context, int training, snn_arena *arena,
                     snn_error *err);
/* Backward from demb (N,D), the gradient at out->emb: ADDS into the parameter
 * gradients of f, into dquery (T,Nq,D) at the query's spikes, into dcontext
 * (T,Nkv,D) at the context's spikes and into dquery_feat (Nq,D) at the query's
 * feat_raw. Returns SNN_OK or SNN_ENOMEM. */
int snn_fuse_backward(snn_model *m, snn_fusion *f, const snn_fuse_out *out, const float *demb,
                      float *dquery, float *dcontext, float *dquery_feat, snn_arena *arena);

/* ---- training */

typedef struct {
    float lr, weight_decay, clip;
    float w_spike, w_float; /* loss weights of the spike-embedding and float terms */
    float w_fusion;         /* weight of each fusion term; 0 skips the fusion modules */
} snn_train_params;

/* Unweighted losses of the last step, and loss, their weighted sum. The fusion
 * terms compare fused images with fused captions (ff), unimodal images with
 * fused captions (uf) and fused images with unimodal captions (fu). They are 0
 * when w_fusion is 0. */
typedef struct {
    double loss, loss_spike, loss_float, grad_norm;
    double loss_ff, loss_uf, loss_fu;
} snn_train_stats;

/* One optimiser step on B aligned pairs: image b goes with caption b. With
 * w_fusion > 0 the model must have the fusion modules (SNN_EINVAL otherwise):
 * image b is fused with caption b and caption b with image b. */
int snn_train_step(snn_model *m, const float *pixels, const int *ids, const int *off, int B,
                   const snn_train_params *tp, snn_train_stats *st, snn_arena *arena,
                   snn_error *err);

/* Runs both encoders, and the fusion modules when the model has them, forward in
 * training mode without changing any weight, so the BatchNorm running
 * statistics move towards the statistics of the data (with the momentum in
 * m->cfg.bn_momentum). */
int snn_calibrate_step(snn_model *m, const float *pixels, const int *ids, const int *off, int B,
                       snn_arena *ar, snn_error *err);

#endif
