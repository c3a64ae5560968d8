/* Layer normalisation of each row over its C channels. */
#include "layers.h"
#include "reduce.h"

#include <math.h>

/* (rows,C) -> (rows,C); mean, rstd (rows); gamma, beta (C) */
void snn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *gamma, const float *beta, size_t rows, int C, float eps)
{
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * (size_t)C;
        float *y = out + r * (size_t)C;

        /* Two passes in double, so a large mean does not cancel the variance. */
        double m = 0.0, var = 0.0;
        for (int c = 0; c < C; c++)
            m += x[c];
        m /= C;
        for (int c = 0; c < C; c++)
            var += (x[c] - m) * (x[c] - m);
        var /= C;

        float fm = (float)m, fr = (float)(1.0 / sqrt(var + eps));
        for (int c = 0; c < C; c++)
            y[c] = (x[c] - fm) * fr * gamma[c] + beta[c];
        mean[r] = fm;
        rstd[r] = fr;
    }
}

/* dgamma[c] += sum_r dout[r,c] * xhat[r,c], threads split by channel block. */
static void add_dgamma(float *dgamma, const float *dout, const float *inp,
                       const float *mean, const float *rstd, size_t rows, int C)
{
    int width = snn_column_block(C);
    int nblocks = (C + width - 1) / width;

#pragma omp parallel for schedule(static)
    for (int k = 0; k < nblocks; k++) {
        int c0 = k * width;
        int c1 = c0 + width < C ? c0 + width : C;
        double sum[SNN_MAX_COLUMN_BLOCK] = {0};

        for (size_t r = 0; r < rows; r++)
            for (int c = c0; c < c1; c++) {
                size_t i = r * (size_t)C + c;
                sum[c - c0] += (double)dout[i] * ((inp[i] - mean[r]) * rstd[r]);
            }
        for (int c = c0; c < c1; c++)
            dgamma[c] += (float)sum[c - c0];
    }
}

/* dinp = rstd * (dxhat - mean(dxhat) - xhat*mean(dxhat*xhat)), dxhat = dout*gamma,
 * with both means taken over the row.
 * dout (rows,C) -> dinp (rows,C), dgamma, dbeta (C) */
void snn_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                            const float *inp, const float *mean, const float *rstd,
                            const float *gamma, size_t rows, int C)
{
    if (dbeta)
        snn_add_column_sums(dbeta, dout, rows, C);
    if (dgamma)
        add_dgamma(dgamma, dout, inp, mean, rstd, rows, C);
    if (!dinp)
        return;

#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * (size_t)C, *dy = dout + r * (size_t)C;
        float *dx = dinp + r * (size_t)C;
        float m = mean[r], rs = rstd[r];

        double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
        for (int c = 0; c < C; c++) {
            float dxhat = dy[c] * gamma[c];
            sum_dxhat += dxhat;
            sum_dxhat_xhat += (double)dxhat * ((x[c] - m) * rs);
        }
        float mean_dxhat = (float)(sum_dxhat / C), mean_dxhat_xhat = (float)(sum_dxhat_xhat / C);

        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * rs;
            dx[c] += rs * (dy[c] * gamma[c] - mean_dxhat - xhat * mean_dxhat_xhat);
        }
    }
}
