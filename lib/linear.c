/* Fully connected layer on OpenBLAS: out = inp W^T + b. */
#include "layers.h"
#include "reduce.h"

#include <cblas.h>
#include <limits.h>

/* cblas takes int sizes, so longer row counts are processed in chunks. */
#define MAX_GEMM_ROWS ((size_t)INT_MAX)

/* (rows,C) -> (rows,OC) */
void snn_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                        size_t rows, int C, int OC)
{
    for (size_t r0 = 0; r0 < rows; r0 += MAX_GEMM_ROWS) {
        size_t m = rows - r0 < MAX_GEMM_ROWS ? rows - r0 : MAX_GEMM_ROWS;
        float *o = out + r0 * (size_t)OC;
        float beta = 0.0f;

        if (bias) {
#pragma omp parallel for schedule(static)
            for (size_t r = 0; r < m; r++)
                for (int j = 0; j < OC; j++)
                    o[r * (size_t)OC + j] = bias[j];
            beta = 1.0f;
        }

        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, OC, C,
                    1.0f, inp + r0 * (size_t)C, C, weight, C, beta, o, OC);
    }
}

/* dout (rows,OC) -> dinp (rows,C), dweight (OC,C), dbias (OC) */
void snn_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, size_t rows, int C, int OC)
{
    for (size_t r0 = 0; r0 < rows; r0 += MAX_GEMM_ROWS) {
        size_t m = rows - r0 < MAX_GEMM_ROWS ? rows - r0 : MAX_GEMM_ROWS;
        const float *d = dout + r0 * (size_t)OC;

        /* dinp += dout W */
        if (dinp)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, C, OC,
                        1.0f, d, OC, weight, C, 1.0f, dinp + r0 * (size_t)C, C);

        /* dweight += dout^T inp */
        if (dweight)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, (int)m,
                        1.0f, d, OC, inp + r0 * (size_t)C, C, 1.0f, dweight, C);
    }

    if (dbias)
        snn_add_column_sums(dbias, dout, rows, OC);
}
