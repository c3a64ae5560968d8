/* Batch normalisation over rows, per channel, with PyTorch's running statistics. */
#include "layers.h"
#include "reduce.h"

#include <math.h>

/* Batch mean and biased variance of the channels [c0, c1) of inp (rows,C),
 * in double and two passes so a large mean does not cancel the variance. */
static void channel_stats(double *mean, double *var, const float *inp,
                          size_t rows, int C, int c0, int c1)
{
    for (int c = c0; c < c1; c++)
        mean[c - c0] = var[c - c0] = 0.0;

    for (size_t r = 0; r < rows; r++)
        for (int c = c0; c < c1; c++)
            mean[c - c0] += inp[r * (size_t)C + c];
    for (int c = c0; c < c1; c++)
        mean[c - c0] /= (double)rows;

    for (size_t r = 0; r < rows; r++)
        for (int c = c0; c < c1; c++) {
            double d = inp[r * (size_t)C + c] - mean[c - c0];
            var[c - c0] += d * d;
        }
    for (int c = c0; c < c1; c++)
        var[c - c0] /= (double)rows;
}

/* Computes the batch statistics of channels [c0, c1), stores mean and rstd and
 * moves the running statistics towards them. PyTorch keeps the unbiased
 * variance in running_var; with a single row it is undefined (PyTorch raises),
 * so the biased one, zero, is used instead. */
static void update_stats(float *mean, float *rstd, float *running_mean, float *running_var,
                         const float *inp, size_t rows, int C, int c0, int c1,
                         float momentum, float eps)
{
    double bmean[SNN_MAX_COLUMN_BLOCK], bvar[SNN_MAX_COLUMN_BLOCK];
    channel_stats(bmean, bvar, inp, rows, C, c0, c1);
    double unbias = rows > 1 ? (double)rows / (double)(rows - 1) : 1.0;

    for (int c = c0; c < c1; c++) {
        mean[c] = (float)bmean[c - c0];
        rstd[c] = (float)(1.0 / sqrt(bvar[c - c0] + eps));
        if (running_mean)
            running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
        if (running_var)
            running_var[c] = (float)((1.0 - momentum) * running_var[c]
                                     + momentum * bvar[c - c0] * unbias);
    }
}

/* (rows,C) -> (rows,C); mean, rstd, running_mean, running_var, gamma, beta are (C) */
void snn_batchnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *gamma, const float *beta,
                           float *running_mean, float *running_var,
                           size_t rows, int C, int training, float momentum, float eps)
{
    int width = snn_column_block(C);
    int nblocks = (C + width - 1) / width;

#pragma omp parallel for schedule(static)
    for (int k = 0; k < nblocks; k++) {
        int c0 = k * width;
        int c1 = c0 + width < C ? c0 + width : C;
        float center[SNN_MAX_COLUMN_BLOCK], scale[SNN_MAX_COLUMN_BLOCK];

        if (training)
            update_stats(mean, rstd, running_mean, running_var, inp, rows, C, c0, c1,
                         momentum, eps);
        for (int c = c0; c < c1; c++) {
            center[c - c0] = training ? mean[c] : running_mean[c];
            float rs = training ? rstd[c] : 1.0f / sqrtf(running_var[c] + eps);
            scale[c - c0] = rs * gamma[c];
        }

        for (size_t r = 0; r < rows; r++)
            for (int c = c0; c < c1; c++) {
                size_t i = r * (size_t)C + c;
                out[i] = (inp[i] - center[c - c0]) * scale[c - c0] + beta[c];
            }
    }
}

/* Gradient of a training-mode forward: the batch statistics depend on every
 * row, so each dinp row gets the two mean terms below.
 * dout (rows,C) -> dinp (rows,C), dgamma, dbeta (C) */
void snn_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                            const float *inp, const float *mean, const float *rstd,
                            const float *gamma, size_t rows, int C)
{
    int width = snn_column_block(C);
    int nblocks = (C + width - 1) / width;

#pragma omp parallel for schedule(static)
    for (int k = 0; k < nblocks; k++) {
        int c0 = k * width;
        int c1 = c0 + width < C ? c0 + width : C;
        double sum_dy[SNN_MAX_COLUMN_BLOCK] = {0}, sum_dy_xhat[SNN_MAX_COLUMN_BLOCK] = {0};

        for (size_t r = 0; r < rows; r++)
            for (int c = c0; c < c1; c++) {
                size_t i = r * (size_t)C + c;
                float xhat = (inp[i] - mean[c]) * rstd[c];
                sum_dy[c - c0] += dout[i];
                sum_dy_xhat[c - c0] += (double)dout[i] * xhat;
            }
        for (int c = c0; c < c1; c++) {
            if (dbeta)
                dbeta[c] += (float)sum_dy[c - c0];
            if (dgamma)
                dgamma[c] += (float)sum_dy_xhat[c - c0];
        }
        if (!dinp)
            continue;

        /* dinp = gamma*rstd * (dy - mean(dy) - xhat*mean(dy*xhat)) */
        float mean_dy[SNN_MAX_COLUMN_BLOCK], mean_dy_xhat[SNN_MAX_COLUMN_BLOCK];
        for (int c = c0; c < c1; c++) {
            mean_dy[c - c0] = (float)(sum_dy[c - c0] / (double)rows);
            mean_dy_xhat[c - c0] = (float)(sum_dy_xhat[c - c0] / (double)rows);
        }
        for (size_t r = 0; r < rows; r++)
            for (int c = c0; c < c1; c++) {
                size_t i = r * (size_t)C + c;
                float xhat = (inp[i] - mean[c]) * rstd[c];
                dinp[i] += gamma[c] * rstd[c]
                           * (dout[i] - mean_dy[c - c0] - xhat * mean_dy_xhat[c - c0]);
            }
    }
}
