/* 3x3 convolution (stride 1, zero padding 1) as im2col followed by one SGEMM
 * per image. */
#include "layers.h"

#include <cblas.h>

/* Unfolds one image (C,H,W) into col (C*9, H*W): row c*9 + ky*3 + kx contains the
 * input shifted by (ky-1, kx-1), zero outside the image. The row order matches
 * the weight layout (OC,C,3,3), so out = W col. */
static void im2col(float *col, const float *img, int C, int H, int W)
{
    size_t hw = (size_t)H * W;

#pragma omp parallel for schedule(static)
    for (int row = 0; row < C * 9; row++) {
        int c = row / 9, ky = row % 9 / 3, kx = row % 3;
        const float *src = img + (size_t)c * hw;
        float *dst = col + (size_t)row * hw;

        for (int y = 0; y < H; y++) {
            int sy = y + ky - 1;
            for (int x = 0; x < W; x++) {
                int sx = x + kx - 1;
                int inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
                dst[(size_t)y * W + x] = inside ? src[(size_t)sy * W + sx] : 0.0f;
            }
        }
    }
}

/* Adds col (C*9, H*W) back into the image gradient (C,H,W), the transpose of
 * im2col. Each thread owns whole channels, so no two threads add to one pixel. */
static void col2im_add(float *img, const float *col, int C, int H, int W)
{
    size_t hw = (size_t)H * W;

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        float *dst = img + (size_t)c * hw;
        for (int k = 0; k < 9; k++) {
            int ky = k / 3, kx = k % 3;
            const float *src = col + (size_t)(c * 9 + k) * hw;
            for (int y = 0; y < H; y++) {
                int sy = y + ky - 1;
                if (sy < 0 || sy >= H)
                    continue;
                for (int x = 0; x < W; x++) {
                    int sx = x + kx - 1;
                    if (sx >= 0 && sx < W)
                        dst[(size_t)sy * W + sx] += src[(size_t)y * W + x];
                }
            }
        }
    }
}

/* (B,C,H,W) -> (B,OC,H,W); weight (OC,C,3,3), bias (OC), col (C*9, H*W) */
void snn_conv3x3_forward(float *out, const float *inp, const float *weight, const float *bias,
                         float *col, int B, int C, int OC, int H, int W)
{
    int hw = H * W, k = C * 9;

    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * OC * hw;
        float beta = 0.0f;

        im2col(col, inp + (size_t)b * C * hw, C, H, W);
        if (bias) {
            for (int oc = 0; oc < OC; oc++)
                for (int i = 0; i < hw; i++)
                    o[(size_t)oc * hw + i] = bias[oc];
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, hw, k,
                    1.0f, weight, k, col, hw, beta, o, hw);
    }
}

/* dout (B,OC,H,W) -> dinp (B,C,H,W), dweight (OC,C,3,3), dbias (OC); dinp may
 * be NULL (the first layer needs no input gradient). */
void snn_conv3x3_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *inp, const float *weight, float *col,
                          int B, int C, int OC, int H, int W)
{
    int hw = H * W, k = C * 9;

    for (int b = 0; b < B; b++) {
        const float *d = dout + (size_t)b * OC * hw;

        /* dweight += dout col^T */
        if (dweight) {
            im2col(col, inp + (size_t)b * C * hw, C, H, W);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, k, hw,
                        1.0f, d, hw, col, hw, 1.0f, dweight, k);
        }

        /* dcol = W^T dout, reusing col, then folded back onto the pixels */
        if (dinp) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, hw, OC,
                        1.0f, weight, k, d, hw, 0.0f, col, hw);
            col2im_add(dinp + (size_t)b * C * hw, col, C, H, W);
        }

        if (dbias) {
#pragma omp parallel for schedule(static)
            for (int oc = 0; oc < OC; oc++) {
                double sum = 0.0;
                for (int i = 0; i < hw; i++)
                    sum += d[(size_t)oc * hw + i];
                dbias[oc] += (float)sum;
            }
        }
    }
}
