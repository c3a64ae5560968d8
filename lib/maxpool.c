/* 2x2 max pooling with stride 2. */
#include "layers.h"

/* (B,C,H,W) -> out, argmax (B,C,H/2,W/2); argmax contains offsets into inp */
void snn_maxpool2_forward(float *out, int *argmax, const float *inp, int B, int C, int H, int W)
{
    int oh = H / 2, ow = W / 2;
    int planes = B * C;

#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        size_t in_base = (size_t)pl * H * W, out_base = (size_t)pl * oh * ow;

        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                /* Window in row-major order; a later element wins only when
                 * strictly larger, so ties go to the first. */
                size_t top = in_base + (size_t)(2 * y) * W + 2 * x;
                size_t cand[4] = {top, top + 1, top + W, top + W + 1};
                size_t best = cand[0];
                for (int k = 1; k < 4; k++)
                    if (inp[cand[k]] > inp[best])
                        best = cand[k];

                out[out_base + (size_t)y * ow + x] = inp[best];
                argmax[out_base + (size_t)y * ow + x] = (int)best;
            }
    }
}

/* dout (B,C,H/2,W/2) -> dinp (B,C,H,W). The windows do not overlap, so each
 * input element receives at most one gradient and the loop runs in parallel. */
void snn_maxpool2_backward(float *dinp, const float *dout, const int *argmax,
                           int B, int C, int H, int W)
{
    size_t n = (size_t)B * C * (H / 2) * (W / 2);

#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        dinp[argmax[i]] += dout[i];
}
