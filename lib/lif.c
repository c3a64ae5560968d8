/* Multi-step leaky integrate-and-fire neuron with a sigmoid surrogate gradient,
 * and the ReLU that replaces it in ANN mode. */
#include "layers.h"
#include "reduce.h"

#include <math.h>

/* Neurons per block: each block keeps its membrane potentials on the stack and
 * runs through time with the neuron loop innermost, so the loop vectorises. */
#define LIF_BLOCK 512

/* Surrogate derivative a*sig(z)*(1-sig(z)), z = a*(h - vth). Written with
 * e = exp(-|z|) as a*e/(1+e)^2, so it is 0, never NaN, when z overflows to
 * +-inf; the function is even in z, so |z| loses nothing. */
static float surrogate_grad(float h, float vth, float alpha)
{
    float e = expf(-fabsf(alpha * (h - vth)));
    return alpha * e / ((1.0f + e) * (1.0f + e));
}

/* The neurons [i0, i1) through all T steps; see layers.h for the equations. */
static void lif_forward_block(float *spike, float *h, const float *inp, int T, size_t n,
                              size_t i0, size_t i1, const snn_lif_params *p)
{
    float v[LIF_BLOCK] = {0};
    float inv_tau = 1.0f / p->tau;

    for (int t = 0; t < T; t++) {
        size_t base = (size_t)t * n;
        for (size_t i = i0; i < i1; i++) {
            float ht = v[i - i0] + (inp[base + i] - v[i - i0]) * inv_tau;
            float s = ht >= p->vth ? 1.0f : 0.0f;
            spike[base + i] = s;
            if (h)
                h[base + i] = ht;
            v[i - i0] = ht * (1.0f - s);
        }
    }
}

/* (T,n) -> spike (T,n), h (T,n) */
void snn_lif_forward(float *spike, float *h, const float *inp, int T, size_t n,
                     const snn_lif_params *p)
{
    if (p->relu) {
        size_t total = (size_t)T * n;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < total; i++)
            spike[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        return;
    }

    size_t nblocks = (n + LIF_BLOCK - 1) / LIF_BLOCK;
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < nblocks; k++) {
        size_t i0 = k * LIF_BLOCK, i1 = i0 + LIF_BLOCK < n ? i0 + LIF_BLOCK : n;
        lif_forward_block(spike, h, inp, T, n, i0, i1, p);
    }
}

typedef struct {
    float *dinp;
    const float *dspike, *h, *spike;
    int T;
    size_t n;
    const snn_lif_params *p;
} lif_backward_args;

/* Backpropagates through time for the neurons [begin, end) and returns their
 * share of dvth.
 *
 * With the reset detached, the spike s[t] = H(h[t] - vth) is the only place the
 * threshold enters: h[t] depends on vth only through the reset v[t-1] =
 * h[t-1]*(1 - s[t-1]), whose gradient is cut. So ds[t]/dvth = -sg'(h[t]) and
 * dvth = -sum_t dspike[t]*sg'(h[t]), with the upstream spike gradient alone
 * and not the gradient flowing back through the membrane. */
static double lif_backward_block(size_t begin, size_t end, void *ctx)
{
    const lif_backward_args *a = ctx;
    const snn_lif_params *p = a->p;
    float inv_tau = 1.0f / p->tau, keep = 1.0f - 1.0f / p->tau;
    float dv[LIF_BLOCK] = {0}; /* gradient reaching v[t] from step t+1 */
    double dvth = 0.0;

    for (int t = a->T - 1; t >= 0; t--) {
        size_t base = (size_t)t * a->n;
        for (size_t i = begin; i < end; i++) {
            float sg = surrogate_grad(a->h[base + i], p->vth, p->alpha);
            float ds = a->dspike[base + i];
            float dh = ds * sg + dv[i - begin] * (1.0f - a->spike[base + i]);
            a->dinp[base + i] += dh * inv_tau;
            dv[i - begin] = dh * keep;
            dvth -= (double)ds * sg;
        }
    }
    return dvth;
}

/* dspike (T,n) -> dinp (T,n), dvth (scalar); the ReLU passes dspike where inp > 0. */
void snn_lif_backward(float *dinp, float *dvth, const float *dspike, const float *h,
                      const float *spike, const float *inp, int T, size_t n,
                      const snn_lif_params *p)
{
    if (p->relu) {
        size_t total = (size_t)T * n;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < total; i++)
            if (inp[i] > 0.0f)
                dinp[i] += dspike[i];
        return;
    }

    lif_backward_args a = {dinp, dspike, h, spike, T, n, p};
    double g = snn_reduce_blocks(n, LIF_BLOCK, lif_backward_block, &a);
    if (dvth)
        *dvth += (float)g;
}
