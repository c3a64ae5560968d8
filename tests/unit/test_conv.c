/* 3x3 convolution against a direct convolution and finite differences; 2x2
 * max pooling values, tie rule and gradient routing. */
#include <string.h>

#include "gradcheck.h"
#include "layers.h"

enum { B = 2, C = 3, OC = 4, H = 5, W = 6 };

typedef struct {
    float inp[B * C * H * W], weight[OC * C * 9], bias[OC];
    float dout[B * OC * H * W], out[B * OC * H * W], col[C * 9 * H * W];
} conv_case;

/* out[b,o,y,x] = bias[o] + sum over c, ky, kx of w[o,c,ky,kx] * inp[b,c,y+ky-1,x+kx-1],
 * with pixels outside the image taken as zero. */
static void conv_direct(double *out, const conv_case *k)
{
    for (int b = 0; b < B; b++)
        for (int o = 0; o < OC; o++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double sum = k->bias[o];
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int sy = y + ky - 1, sx = x + kx - 1;
                                if (sy < 0 || sy >= H || sx < 0 || sx >= W)
                                    continue;
                                sum += (double)k->weight[((o * C + c) * 3 + ky) * 3 + kx]
                                       * k->inp[((b * C + c) * H + sy) * W + sx];
                            }
                    out[((b * OC + o) * H + y) * W + x] = sum;
                }
}

static double conv_loss(void *ctx)
{
    conv_case *k = ctx;
    snn_conv3x3_forward(k->out, k->inp, k->weight, k->bias, k->col, B, C, OC, H, W);
    return weighted_sum(k->dout, k->out, B * OC * H * W);
}

static void test_conv_matches_direct(void)
{
    static conv_case k;
    fill_uniform(k.inp, B * C * H * W, -1, 1);
    fill_uniform(k.weight, OC * C * 9, -1, 1);
    fill_uniform(k.bias, OC, -1, 1);
    static double want[B * OC * H * W];

    conv_direct(want, &k);
    snn_conv3x3_forward(k.out, k.inp, k.weight, k.bias, k.col, B, C, OC, H, W);
    for (int i = 0; i < B * OC * H * W; i++)
        CHECK_NEAR(k.out[i], want[i], 1e-5, 1e-5);
}

static void test_conv_backward_fd(void)
{
    static conv_case k;
    fill_uniform(k.inp, B * C * H * W, -1, 1);
    fill_uniform(k.weight, OC * C * 9, -1, 1);
    fill_uniform(k.bias, OC, -1, 1);
    fill_uniform(k.dout, B * OC * H * W, -1, 1);
    static float dinp[B * C * H * W], dweight[OC * C * 9], dbias[OC];

    snn_conv3x3_backward(dinp, dweight, dbias, k.dout, k.inp, k.weight, k.col,
                         B, C, OC, H, W);
    /* The loss is linear in each input, so a large step loses nothing. */
    check_grad("conv dinp", k.inp, B * C * H * W, dinp, conv_loss, &k, 0.25f, 1e-4, 1e-4);
    check_grad("conv dweight", k.weight, OC * C * 9, dweight, conv_loss, &k, 0.25f, 1e-4, 1e-4);
    check_grad("conv dbias", k.bias, OC, dbias, conv_loss, &k, 0.25f, 1e-4, 1e-4);

    static float dinp2[B * C * H * W], dweight2[OC * C * 9], dbias2[OC];
    memcpy(dinp2, dinp, sizeof dinp);
    memcpy(dweight2, dweight, sizeof dweight);
    memcpy(dbias2, dbias, sizeof dbias);
    snn_conv3x3_backward(dinp2, dweight2, dbias2, k.dout, k.inp, k.weight, k.col,
                         B, C, OC, H, W);
    check_doubled("conv dinp", dinp, dinp2, B * C * H * W);
    check_doubled("conv dweight", dweight, dweight2, OC * C * 9);
    check_doubled("conv dbias", dbias, dbias2, OC);

    /* Without dinp (the first layer) only the parameter gradients are added. */
    memcpy(dweight2, dweight, sizeof dweight);
    memcpy(dbias2, dbias, sizeof dbias);
    snn_conv3x3_backward(NULL, dweight2, dbias2, k.dout, k.inp, k.weight, k.col,
                         B, C, OC, H, W);
    check_doubled("conv dweight without dinp", dweight, dweight2, OC * C * 9);
    check_doubled("conv dbias without dinp", dbias, dbias2, OC);
}

static void test_maxpool_values_and_ties(void)
{
    /* One 4x4 plane, four windows:
     *   [1 5 | 2 2]    max 5 at offset 1
     *   [3 4 | 2 2]    tie of four 2s: the first, offset 2
     *   [0 -1| 7 9]    max 0 at offset 8
     *   [-2 -3| 9 8]   tie 9 at offsets 11 and 14: offset 11 */
    float inp[16] = {1, 5, 2, 2, 3, 4, 2, 2, 0, -1, 7, 9, -2, -3, 9, 8};
    float out[4];
    int argmax[4];

    snn_maxpool2_forward(out, argmax, inp, 1, 1, 4, 4);
    CHECK_NEAR(out[0], 5, 0, 0);
    CHECK_NEAR(out[1], 2, 0, 0);
    CHECK_NEAR(out[2], 0, 0, 0);
    CHECK_NEAR(out[3], 9, 0, 0);
    CHECK_INT(argmax[0], 1);
    CHECK_INT(argmax[1], 2);
    CHECK_INT(argmax[2], 8);
    CHECK_INT(argmax[3], 11);

    float dout[4] = {1, 2, 3, 4}, dinp[16] = {0};
    snn_maxpool2_backward(dinp, dout, argmax, 1, 1, 4, 4);
    float want[16] = {0, 1, 2, 0, 0, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        CHECK_NEAR(dinp[i], want[i], 0, 0);

    snn_maxpool2_backward(dinp, dout, argmax, 1, 1, 4, 4);
    check_doubled("maxpool dinp", want, dinp, 16);
}

static void test_maxpool_offsets_span_planes(void)
{
    /* argmax is an offset into the whole (B,C,H,W) tensor, not into one plane. */
    enum { PB = 2, PC = 2, PH = 2, PW = 4 };
    float inp[PB * PC * PH * PW], out[PB * PC * 2];
    int argmax[PB * PC * 2];
    for (int i = 0; i < PB * PC * PH * PW; i++)
        inp[i] = (float)i;

    snn_maxpool2_forward(out, argmax, inp, PB, PC, PH, PW);
    for (int pl = 0; pl < PB * PC; pl++) {
        CHECK_INT(argmax[pl * 2], pl * 8 + 5);
        CHECK_INT(argmax[pl * 2 + 1], pl * 8 + 7);
        CHECK_NEAR(out[pl * 2 + 1], pl * 8 + 7, 0, 0);
    }
}

int main(void)
{
    test_conv_matches_direct();
    test_conv_backward_fd();
    test_maxpool_values_and_ties();
    test_maxpool_offsets_span_planes();
    CHECK_DONE();
}
