/* Layers of the spiking network, each as a forward/backward pair.
 *
 * Shape letters, used in every comment below:
 *   T  time steps            N  rows per time step (tokens of all items in a batch)
 *   C  input channels        OC output channels
 *   B  images in a batch     H, W  image height and width
 *
 * Activations are time-major: a (T,N,C) tensor stores step t at offset t*N*C, so
 * each step is a contiguous row-major (N,C) matrix and layers that ignore time
 * (Linear, BatchNorm) see T*N rows.
 *
 * Every backward function ADDS into its gradient outputs (dinp, dweight, ...); the
 * caller zeroes them once per step. Gradient outputs may be NULL when not needed,
 * except dinp where stated. Forward functions overwrite their outputs. */
#ifndef SNN_LAYERS_H
#define SNN_LAYERS_H

#include <stddef.h>

/* ---- Linear: out = inp W^T + b, W is (OC,C) as in PyTorch, bias may be NULL. */
void snn_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                        size_t rows, int C, int OC);
void snn_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, size_t rows, int C, int OC);

/* ---- BatchNorm over rows, per channel: (rows,C) -> (rows,C).
 * Training: normalises with the batch mean and biased variance, stores mean and
 * rstd (C each) for backward, and updates running_mean/running_var with
 * momentum (running = (1-m)*running + m*batch, unbiased variance as PyTorch).
 * running_mean/running_var may be NULL in training, which skips the update.
 * Inference (training == 0): uses the running statistics; mean/rstd untouched.
 * Backward is the gradient of the training-mode forward. */
void snn_batchnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *gamma, const float *beta,
                           float *running_mean, float *running_var,
                           size_t rows, int C, int training, float momentum, float eps);
void snn_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                            const float *inp, const float *mean, const float *rstd,
                            const float *gamma, size_t rows, int C);

/* ---- LayerNorm per row over C: (rows,C) -> (rows,C); mean, rstd are (rows). */
void snn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *gamma, const float *beta, size_t rows, int C, float eps);
void snn_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                            const float *inp, const float *mean, const float *rstd,
                            const float *gamma, size_t rows, int C);

/* ---- Multi-step LIF neuron (SpikingJelly semantics: decay_input, v_reset 0,
 * detach_reset), n = N*C neurons per step, input (T,n):
 *   h[t] = v[t-1] + (x[t] - v[t-1]) / tau,  v[-1] = 0
 *   s[t] = h[t] >= vth
 *   v[t] = h[t] * (1 - s[t])           (the reset is detached in backward)
 * Backward uses ds/dh = a*sig(a(h-vth))*(1-sig(a(h-vth))), finite for every h.
 * h (T,n) is kept for backward. dvth, when not NULL, receives the gradient of the
 * scalar threshold (for learnable thresholds). dinp must not be NULL.
 *
 * h may be NULL in forward when no backward follows.
 *
 * ANN mode (relu != 0): s = max(x, 0) and h is unused; T must be 1. */
typedef struct {
    float tau;   /* membrane time constant, > 1 */
    float vth;   /* firing threshold */
    float alpha; /* surrogate sharpness a */
    int relu;    /* ANN mode: ReLU instead of LIF */
} snn_lif_params;

void snn_lif_forward(float *spike, float *h, const float *inp, int T, size_t n,
                     const snn_lif_params *p);
void snn_lif_backward(float *dinp, float *dvth, const float *dspike, const float *h,
                      const float *spike, const float *inp, int T, size_t n,
                      const snn_lif_params *p);

/* ---- Embedding: out[i] = table[ids[i]] + pos[positions[i]] (pos may be NULL).
 * table is (V,C), pos is (P,C), out is (rows,C). The caller checks that every
 * id is in [0,V) and every position in [0,P). */
void snn_embedding_forward(float *out, const int *ids, const int *positions,
                           const float *table, const float *pos, size_t rows, int C);
void snn_embedding_backward(float *dtable, float *dpos, const float *dout, const int *ids,
                            const int *positions, size_t rows, int C);

/* ---- Temporal readout: out[n,c] = sum_t w[t] * inp[t,n,c]; (T,N,C) -> (N,C). */
void snn_readout_forward(float *out, const float *inp, const float *w, int T, size_t N, int C);
void snn_readout_backward(float *dinp, float *dw, const float *dout, const float *inp,
                          const float *w, int T, size_t N, int C);

/* ---- Row-wise L2 normalisation: out = inp / max(||inp||, eps), eps = 1e-12;
 * norm (rows) is kept for backward. A zero row gives a zero output and zero
 * gradient. */
void snn_l2norm_forward(float *out, float *norm, const float *inp, size_t rows, int C);
void snn_l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm,
                         size_t rows, int C);

/* ---- 3x3 convolution, stride 1, zero padding 1, NCHW: (B,C,H,W) -> (B,OC,H,W).
 * weight is (OC,C,3,3), bias (OC) may be NULL. col is scratch of
 * C*9*H*W floats (one image's im2col buffer), used by forward and backward.
 * dinp may be NULL in backward. */
void snn_conv3x3_forward(float *out, const float *inp, const float *weight, const float *bias,
                         float *col, int B, int C, int OC, int H, int W);
void snn_conv3x3_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *inp, const float *weight, float *col,
                          int B, int C, int OC, int H, int W);

/* ---- 2x2 max pooling, stride 2, NCHW: (B,C,H,W) -> (B,C,H/2,W/2); H, W even.
 * argmax (B,C,H/2,W/2) stores the winning input offset for backward; ties go
 * to the first element in row-major order. B*C*H*W must fit in an int. */
void snn_maxpool2_forward(float *out, int *argmax, const float *inp, int B, int C, int H, int W);
void snn_maxpool2_backward(float *dinp, const float *dout, const int *argmax,
                           int B, int C, int H, int W);

/* ---- Linear attention core of spiking self/cross attention, per sequence and head:
 *   out_h = q_h (k_h^T v_h) * scale
 * q is (Nq,C), k and v are (Nk,C), heads split C into `heads` contiguous slices.
 * kv is scratch of heads*(C/heads)^2 floats, kept for backward by the caller
 * (pass the same contents to backward). C must be a multiple of heads. */
void snn_linattn_forward(float *out, float *kv, const float *q, const float *k, const float *v,
                         int Nq, int Nk, int C, int heads, float scale);
void snn_linattn_backward(float *dq, float *dk, float *dv, const float *dout, const float *kv,
                          const float *q, const float *k, const float *v,
                          int Nq, int Nk, int C, int heads, float scale);

/* ---- AdamW (decoupled weight decay), one parameter tensor of n floats.
 * step counts from 1. Bias correction as in PyTorch. */
typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} snn_adamw_params;

void snn_adamw_update(float *param, const float *grad, float *m, float *v, size_t n,
                      long step, const snn_adamw_params *p, int decay);

/* Returns the L2 norm of n floats, summed in double in an order that does not
 * depend on the thread count. Clipping to max_norm is then
 * snn_scale(grad, n, max_norm / norm) when norm > max_norm. */
double snn_grad_norm(const float *grad, size_t n);

/* Multiplies n floats by factor in place. */
void snn_scale(float *x, size_t n, float factor);

#endif
