/* Linear attention core: per head, out = q (k^T v) * scale, without softmax, so
 * the (d,d) matrix k^T v replaces the (Nq,Nk) attention map. */
#include "layers.h"

#include <cblas.h>

/* Side of the square tiles of dkv in backward: a 64x64 tile (16 KiB) lives on
 * the stack, so backward needs no scratch argument for any head size. */
#define TILE 64

/* q (Nq,C), k, v (Nk,C) -> out (Nq,C), kv (heads,d,d) with d = C/heads */
void snn_linattn_forward(float *out, float *kv, const float *q, const float *k, const float *v,
                         int Nq, int Nk, int C, int heads, float scale)
{
    int d = C / heads;

    for (int hd = 0; hd < heads; hd++) {
        float *kvh = kv + (size_t)hd * d * d;

        /* kv_h = k_h^T v_h */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, Nk,
                    1.0f, k + hd * d, C, v + hd * d, C, 0.0f, kvh, d);

        /* out_h = scale * q_h kv_h */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Nq, d, d,
                    scale, q + hd * d, C, kvh, d, 0.0f, out + hd * d, C);
    }
}

/* Adds the gradients of k_h and v_h through dkv = scale * q_h^T dout_h, one
 * tile of dkv at a time: dk_h = v_h dkv^T and dv_h = k_h dkv are sums over the
 * tiles, so the (d,d) matrix never exists whole. */
static void add_dk_dv(float *dk, float *dv, const float *dout, const float *q,
                      const float *k, const float *v, int Nq, int Nk, int C, int d,
                      float scale)
{
    float tile[TILE * TILE];

    for (int i0 = 0; i0 < d; i0 += TILE)
        for (int j0 = 0; j0 < d; j0 += TILE) {
            int ni = d - i0 < TILE ? d - i0 : TILE;
            int nj = d - j0 < TILE ? d - j0 : TILE;

            /* tile = dkv[i0:i0+ni, j0:j0+nj] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, nj, Nq,
                        scale, q + i0, C, dout + j0, C, 0.0f, tile, nj);

            /* dk[:, i0:] += v[:, j0:] tile^T */
            if (dk)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Nk, ni, nj,
                            1.0f, v + j0, C, tile, nj, 1.0f, dk + i0, C);

            /* dv[:, j0:] += k[:, i0:] tile */
            if (dv)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Nk, nj, ni,
                            1.0f, k + i0, C, tile, nj, 1.0f, dv + j0, C);
        }
}

/* dout (Nq,C) -> dq (Nq,C), dk, dv (Nk,C); kv as left by forward */
void snn_linattn_backward(float *dq, float *dk, float *dv, const float *dout, const float *kv,
                          const float *q, const float *k, const float *v,
                          int Nq, int Nk, int C, int heads, float scale)
{
    int d = C / heads;

    for (int hd = 0; hd < heads; hd++) {
        int off = hd * d;

        /* dq_h += scale * dout_h kv_h^T */
        if (dq)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Nq, d, d,
                        scale, dout + off, C, kv + (size_t)hd * d * d, d, 1.0f, dq + off, C);

        if (dk || dv)
            add_dk_dv(dk ? dk + off : NULL, dv ? dv + off : NULL, dout + off, q + off,
                      k + off, v + off, Nq, Nk, C, d, scale);
    }
}
