/* Temporal readout (learned weights over time steps) and row L2 normalisation,
 * which turn spike trains into token embeddings. */
#include "layers.h"
#include "reduce.h"

#include <math.h>

/* Rows with a smaller norm are divided by this instead, as torch's
 * F.normalize does with its default eps. */
#define L2_EPS 1e-12f

/* (T,N,C) -> (N,C); w (T) */
void snn_readout_forward(float *out, const float *inp, const float *w, int T, size_t N, int C)
{
    size_t n = N * (size_t)C;

#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float sum = 0.0f;
        for (int t = 0; t < T; t++)
            sum += w[t] * inp[(size_t)t * n + i];
        out[i] = sum;
    }
}

/* dout (N,C) -> dinp (T,N,C), dw (T) */
void snn_readout_backward(float *dinp, float *dw, const float *dout, const float *inp,
                          const float *w, int T, size_t N, int C)
{
    size_t n = N * (size_t)C;

    for (int t = 0; t < T; t++) {
        if (dw)
            dw[t] += (float)snn_dot(dout, inp + (size_t)t * n, n);
        if (!dinp)
            continue;
        float *d = dinp + (size_t)t * n;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            d[i] += w[t] * dout[i];
    }
}

/* (rows,C) -> out (rows,C), norm (rows) */
void snn_l2norm_forward(float *out, float *norm, const float *inp, size_t rows, int C)
{
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * (size_t)C;
        float *y = out + r * (size_t)C;

        double sq = 0.0;
        for (int c = 0; c < C; c++)
            sq += (double)x[c] * x[c];
        float nr = (float)sqrt(sq);
        float inv = 1.0f / (nr > L2_EPS ? nr : L2_EPS);

        for (int c = 0; c < C; c++)
            y[c] = x[c] * inv;
        norm[r] = nr;
    }
}

/* Above eps, d(x/|x|) = (dout - out*(out.dout)) / |x|. Below it the forward is
 * x/eps, whose gradient is dout/eps, except that an all-zero row (padding) gets
 * zero gradient rather than dout/eps = 1e12*dout.
 * dout (rows,C) -> dinp (rows,C) */
void snn_l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm,
                         size_t rows, int C)
{
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *y = out + r * (size_t)C, *dy = dout + r * (size_t)C;
        float *dx = dinp + r * (size_t)C;
        float nr = norm[r];

        if (nr == 0.0f)
            continue;
        if (nr <= L2_EPS) {
            for (int c = 0; c < C; c++)
                dx[c] += dy[c] / L2_EPS;
            continue;
        }

        double dot = 0.0;
        for (int c = 0; c < C; c++)
            dot += (double)y[c] * dy[c];
        float fdot = (float)dot, inv = 1.0f / nr;
        for (int c = 0; c < C; c++)
            dx[c] += (dy[c] - y[c] * fdot) * inv;
    }
}
