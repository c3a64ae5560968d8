/* Linear, BatchNorm, LayerNorm, embedding, temporal readout and L2
 * normalisation: forward values and backward against finite differences. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layers.h"

/* Finite-difference tolerances for losses computed with the float forward:
 * the step error and float rounding measure below 5e-4, while a missing or wrong
 * gradient term is of order 0.1 for inputs of order 1. */
#define STEP 1e-2f
#define ATOL 1e-3
#define RTOL 1e-2

/* ---- Linear */

enum { LR = 5, LC = 4, LOC = 3 };

typedef struct {
    float inp[LR * LC], weight[LOC * LC], bias[LOC], dout[LR * LOC], out[LR * LOC];
} linear_case;

static double linear_loss(void *ctx)
{
    linear_case *k = ctx;
    snn_linear_forward(k->out, k->inp, k->weight, k->bias, LR, LC, LOC);
    return weighted_sum(k->dout, k->out, LR * LOC);
}

static void test_linear_forward_values(void)
{
    /* out = inp W^T + b for one row, by hand: [1 2] x [[1 0] [1 -1] [0 2]]^T */
    float inp[2] = {1, 2}, weight[6] = {1, 0, 1, -1, 0, 2}, bias[3] = {0.5f, 0, -1};
    float out[3];

    snn_linear_forward(out, inp, weight, bias, 1, 2, 3);
    CHECK_NEAR(out[0], 1.5, 0, 0);
    CHECK_NEAR(out[1], -1.0, 0, 0);
    CHECK_NEAR(out[2], 3.0, 0, 0);

    snn_linear_forward(out, inp, weight, NULL, 1, 2, 3);
    CHECK_NEAR(out[0], 1.0, 0, 0);
    CHECK_NEAR(out[2], 4.0, 0, 0);
}

static void test_linear_backward_fd(void)
{
    linear_case k;
    fill_uniform(k.inp, LR * LC, -1, 1);
    fill_uniform(k.weight, LOC * LC, -1, 1);
    fill_uniform(k.bias, LOC, -1, 1);
    fill_uniform(k.dout, LR * LOC, -1, 1);
    float dinp[LR * LC] = {0}, dweight[LOC * LC] = {0}, dbias[LOC] = {0};

    snn_linear_backward(dinp, dweight, dbias, k.dout, k.inp, k.weight, LR, LC, LOC);
    check_grad("linear dinp", k.inp, LR * LC, dinp, linear_loss, &k, STEP, ATOL, RTOL);
    check_grad("linear dweight", k.weight, LOC * LC, dweight, linear_loss, &k, STEP, ATOL, RTOL);
    check_grad("linear dbias", k.bias, LOC, dbias, linear_loss, &k, STEP, ATOL, RTOL);

    float dinp2[LR * LC], dweight2[LOC * LC], dbias2[LOC];
    memcpy(dinp2, dinp, sizeof dinp);
    memcpy(dweight2, dweight, sizeof dweight);
    memcpy(dbias2, dbias, sizeof dbias);
    snn_linear_backward(dinp2, dweight2, dbias2, k.dout, k.inp, k.weight, LR, LC, LOC);
    check_doubled("linear dinp", dinp, dinp2, LR * LC);
    check_doubled("linear dweight", dweight, dweight2, LOC * LC);
    check_doubled("linear dbias", dbias, dbias2, LOC);
}

/* ---- BatchNorm */

enum { BR = 6, BC = 3 };

typedef struct {
    float inp[BR * BC], gamma[BC], beta[BC], dout[BR * BC], out[BR * BC];
    float mean[BC], rstd[BC], rmean[BC], rvar[BC];
} batchnorm_case;

static double batchnorm_loss(void *ctx)
{
    batchnorm_case *k = ctx;
    snn_batchnorm_forward(k->out, k->mean, k->rstd, k->inp, k->gamma, k->beta,
                          k->rmean, k->rvar, BR, BC, 1, 0.1f, 1e-5f);
    return weighted_sum(k->dout, k->out, BR * BC);
}

static void test_batchnorm_backward_fd(void)
{
    batchnorm_case k = {0};
    fill_uniform(k.inp, BR * BC, -2, 2);
    fill_uniform(k.gamma, BC, 0.5f, 1.5f);
    fill_uniform(k.beta, BC, -1, 1);
    fill_uniform(k.dout, BR * BC, -1, 1);
    float dinp[BR * BC] = {0}, dgamma[BC] = {0}, dbeta[BC] = {0};

    batchnorm_loss(&k);
    snn_batchnorm_backward(dinp, dgamma, dbeta, k.dout, k.inp, k.mean, k.rstd, k.gamma, BR, BC);
    check_grad("batchnorm dinp", k.inp, BR * BC, dinp, batchnorm_loss, &k, STEP, ATOL, RTOL);
    check_grad("batchnorm dgamma", k.gamma, BC, dgamma, batchnorm_loss, &k, STEP, ATOL, RTOL);
    check_grad("batchnorm dbeta", k.beta, BC, dbeta, batchnorm_loss, &k, STEP, ATOL, RTOL);

    float dinp2[BR * BC], dgamma2[BC], dbeta2[BC];
    memcpy(dinp2, dinp, sizeof dinp);
    memcpy(dgamma2, dgamma, sizeof dgamma);
    memcpy(dbeta2, dbeta, sizeof dbeta);
    batchnorm_loss(&k);
    snn_batchnorm_backward(dinp2, dgamma2, dbeta2, k.dout, k.inp, k.mean, k.rstd, k.gamma, BR, BC);
    check_doubled("batchnorm dinp", dinp, dinp2, BR * BC);
    check_doubled("batchnorm dgamma", dgamma, dgamma2, BC);
    check_doubled("batchnorm dbeta", dbeta, dbeta2, BC);
}

static void test_batchnorm_running_stats(void)
{
    /* Channel 0: 1,2,3,4: mean 2.5, biased var 1.25, unbiased 5/3.
     * Channel 1: 0,0,0,8: mean 2, biased var 12, unbiased 16. */
    float inp[8] = {1, 0, 2, 0, 3, 0, 4, 8};
    float gamma[2] = {2, 1}, beta[2] = {0.5f, 0};
    float rmean[2] = {0, 0}, rvar[2] = {1, 1};
    float out[8], mean[2], rstd[2];

    snn_batchnorm_forward(out, mean, rstd, inp, gamma, beta, rmean, rvar, 4, 2, 1, 0.1f, 1e-5f);
    CHECK_NEAR(mean[0], 2.5, 1e-6, 0);
    CHECK_NEAR(mean[1], 2.0, 1e-6, 0);
    CHECK_NEAR(rstd[0], 1 / sqrt(1.25 + 1e-5), 1e-6, 0);
    CHECK_NEAR(rstd[1], 1 / sqrt(12 + 1e-5), 1e-6, 0);

    /* running = 0.9*running + 0.1*batch, unbiased variance */
    CHECK_NEAR(rmean[0], 0.25, 1e-6, 0);
    CHECK_NEAR(rmean[1], 0.2, 1e-6, 0);
    CHECK_NEAR(rvar[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6, 0);
    CHECK_NEAR(rvar[1], 0.9 + 1.6, 1e-6, 0);

    /* (1 - 2.5)/sqrt(1.25 + eps) * 2 + 0.5 and (8 - 2)/sqrt(12 + eps) */
    CHECK_NEAR(out[0], -1.5 / sqrt(1.25 + 1e-5) * 2 + 0.5, 1e-5, 0);
    CHECK_NEAR(out[7], 6 / sqrt(12 + 1e-5), 1e-5, 0);
}

static void test_batchnorm_inference(void)
{
    float inp[4] = {3, 0.5f, 1, -1};
    float gamma[2] = {2, 1}, beta[2] = {0.5f, 0};
    float rmean[2] = {1, -1}, rvar[2] = {4, 0.25f};
    float out[4], mean[2] = {-7, -7}, rstd[2] = {-7, -7};

    snn_batchnorm_forward(out, mean, rstd, inp, gamma, beta, rmean, rvar, 2, 2, 0, 0.1f, 1e-5f);
    CHECK_NEAR(out[0], (3 - 1) / sqrt(4 + 1e-5) * 2 + 0.5, 1e-6, 0);
    CHECK_NEAR(out[1], (0.5 + 1) / sqrt(0.25 + 1e-5), 1e-6, 0);
    CHECK_NEAR(out[2], 0.5, 1e-6, 0);
    CHECK_NEAR(out[3], 0.0, 1e-6, 0);

    /* Running statistics and the saved batch statistics stay as they were. */
    CHECK_NEAR(rmean[0], 1.0, 0, 0);
    CHECK_NEAR(rvar[1], 0.25, 0, 0);
    CHECK_NEAR(mean[0], -7.0, 0, 0);
    CHECK_NEAR(rstd[1], -7.0, 0, 0);
}

static void batchnorm_wide_run(float *out, float *dinp, float *dgamma, const float *inp,
                               const float *gamma, const float *beta, const float *dout,
                               size_t rows, int C)
{
    float *mean = malloc(C * sizeof(float)), *rstd = malloc(C * sizeof(float));

    snn_batchnorm_forward(out, mean, rstd, inp, gamma, beta, NULL, NULL, rows, C, 1, 0.1f, 1e-5f);
    memset(dinp, 0, rows * C * sizeof(float));
    memset(dgamma, 0, C * sizeof(float));
    snn_batchnorm_backward(dinp, dgamma, NULL, dout, inp, mean, rstd, gamma, rows, C);
    free(mean);
    free(rstd);
}

static void test_batchnorm_wide_threads(void)
{
    /* 1100 channels span several column blocks; every channel must match a
     * direct computation and the result must not depend on the thread count. */
    enum { R = 5, C = 1100 };
    static float inp[R * C], gamma[C], beta[C], dout[R * C];
    static float out1[R * C], dinp1[R * C], dgamma1[C], out3[R * C], dinp3[R * C], dgamma3[C];
    fill_uniform(inp, R * C, -2, 2);
    fill_uniform(gamma, C, 0.5f, 1.5f);
    fill_uniform(beta, C, -1, 1);
    fill_uniform(dout, R * C, -1, 1);

    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    batchnorm_wide_run(out1, dinp1, dgamma1, inp, gamma, beta, dout, R, C);
    omp_set_num_threads(3);
    batchnorm_wide_run(out3, dinp3, dgamma3, inp, gamma, beta, dout, R, C);
    omp_set_num_threads(saved);
    CHECK(memcmp(out1, out3, sizeof out1) == 0);
    CHECK(memcmp(dinp1, dinp3, sizeof dinp1) == 0);
    CHECK(memcmp(dgamma1, dgamma3, sizeof dgamma1) == 0);

    int bad = 0;
    for (int c = 0; c < C; c++) {
        double m = 0, var = 0, dg = 0;
        for (int r = 0; r < R; r++)
            m += inp[r * C + c] / (double)R;
        for (int r = 0; r < R; r++)
            var += (inp[r * C + c] - m) * (inp[r * C + c] - m) / R;
        for (int r = 0; r < R; r++) {
            double xhat = (inp[r * C + c] - m) / sqrt(var + 1e-5);
            dg += dout[r * C + c] * xhat;
            bad += fabs(out3[r * C + c] - (xhat * gamma[c] + beta[c])) > 1e-5;
        }
        bad += fabs(dgamma3[c] - dg) > 1e-5;
    }
    CHECK_INT(bad, 0);
}

/* ---- LayerNorm */

enum { NR = 3, NC = 5 };

typedef struct {
    float inp[NR * NC], gamma[NC], beta[NC], dout[NR * NC], out[NR * NC], mean[NR], rstd[NR];
} layernorm_case;

static double layernorm_loss(void *ctx)
{
    layernorm_case *k = ctx;
    snn_layernorm_forward(k->out, k->mean, k->rstd, k->inp, k->gamma, k->beta, NR, NC, 1e-5f);
    return weighted_sum(k->dout, k->out, NR * NC);
}

static void test_layernorm_forward_values(void)
{
    /* Row 1,2,3,4: mean 2.5, var 1.25. */
    float inp[4] = {1, 2, 3, 4}, gamma[4] = {1, 1, 1, 2}, beta[4] = {0, 0, 0, 1};
    float out[4], mean[1], rstd[1];

    snn_layernorm_forward(out, mean, rstd, inp, gamma, beta, 1, 4, 1e-5f);
    CHECK_NEAR(mean[0], 2.5, 1e-6, 0);
    CHECK_NEAR(rstd[0], 1 / sqrt(1.25 + 1e-5), 1e-6, 0);
    CHECK_NEAR(out[0], -1.5 / sqrt(1.25 + 1e-5), 1e-5, 0);
    CHECK_NEAR(out[3], 1.5 / sqrt(1.25 + 1e-5) * 2 + 1, 1e-5, 0);
}

static void test_layernorm_backward_fd(void)
{
    layernorm_case k;
    fill_uniform(k.inp, NR * NC, -2, 2);
    fill_uniform(k.gamma, NC, 0.5f, 1.5f);
    fill_uniform(k.beta, NC, -1, 1);
    fill_uniform(k.dout, NR * NC, -1, 1);
    float dinp[NR * NC] = {0}, dgamma[NC] = {0}, dbeta[NC] = {0};

    layernorm_loss(&k);
    snn_layernorm_backward(dinp, dgamma, dbeta, k.dout, k.inp, k.mean, k.rstd, k.gamma, NR, NC);
    check_grad("layernorm dinp", k.inp, NR * NC, dinp, layernorm_loss, &k, STEP, ATOL, RTOL);
    check_grad("layernorm dgamma", k.gamma, NC, dgamma, layernorm_loss, &k, STEP, ATOL, RTOL);
    check_grad("layernorm dbeta", k.beta, NC, dbeta, layernorm_loss, &k, STEP, ATOL, RTOL);

    float dinp2[NR * NC], dgamma2[NC], dbeta2[NC];
    memcpy(dinp2, dinp, sizeof dinp);
    memcpy(dgamma2, dgamma, sizeof dgamma);
    memcpy(dbeta2, dbeta, sizeof dbeta);
    layernorm_loss(&k);
    snn_layernorm_backward(dinp2, dgamma2, dbeta2, k.dout, k.inp, k.mean, k.rstd, k.gamma, NR, NC);
    check_doubled("layernorm dinp", dinp, dinp2, NR * NC);
    check_doubled("layernorm dgamma", dgamma, dgamma2, NC);
    check_doubled("layernorm dbeta", dbeta, dbeta2, NC);
}

/* ---- Embedding */

static void test_embedding_forward_backward(void)
{
    enum { V = 4, P = 3, C = 2, R = 5 };
    float table[V * C] = {0, 1, 10, 11, 20, 21, 30, 31};
    float pos[P * C] = {0.5f, 0.25f, 1, 2, 4, 8};
    int ids[R] = {1, 3, 1, 0, 1}, positions[R] = {0, 1, 2, 0, 1};
    float out[R * C];

    snn_embedding_forward(out, ids, positions, table, pos, R, C);
    CHECK_NEAR(out[0], 10.5, 0, 0);
    CHECK_NEAR(out[3], 33.0, 0, 0);
    CHECK_NEAR(out[5], 19.0, 0, 0);

    snn_embedding_forward(out, ids, NULL, table, NULL, R, C);
    CHECK_NEAR(out[0], 10.0, 0, 0);

    /* Rows 0, 2 and 4 share id 1; rows 1 and 4 share position 1. */
    float dout[R * C] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    float dtable[V * C] = {0}, dpos[P * C] = {0};
    snn_embedding_backward(dtable, dpos, dout, ids, positions, R, C);
    CHECK_NEAR(dtable[2], 1 + 5 + 9, 0, 0);
    CHECK_NEAR(dtable[3], 2 + 6 + 10, 0, 0);
    CHECK_NEAR(dtable[0], 7, 0, 0);
    CHECK_NEAR(dtable[4], 0, 0, 0);
    CHECK_NEAR(dtable[6], 3, 0, 0);
    CHECK_NEAR(dpos[2], 3 + 9, 0, 0);
    CHECK_NEAR(dpos[0], 1 + 7, 0, 0);
    CHECK_NEAR(dpos[5], 6, 0, 0);
}

/* ---- Temporal readout */

enum { RT = 2, RN = 3, RC = 4 };

typedef struct {
    float inp[RT * RN * RC], w[RT], dout[RN * RC], out[RN * RC];
} readout_case;

static double readout_loss(void *ctx)
{
    readout_case *k = ctx;
    snn_readout_forward(k->out, k->inp, k->w, RT, RN, RC);
    return weighted_sum(k->dout, k->out, RN * RC);
}

static void test_readout(void)
{
    readout_case k;
    fill_uniform(k.inp, RT * RN * RC, 0, 1);
    fill_uniform(k.dout, RN * RC, -1, 1);
    k.w[0] = 2.3026f;
    k.w[1] = 1.9f;

    readout_loss(&k);
    CHECK_NEAR(k.out[5], 2.3026f * k.inp[5] + 1.9f * k.inp[RN * RC + 5], 1e-6, 0);

    float dinp[RT * RN * RC] = {0}, dw[RT] = {0};
    snn_readout_backward(dinp, dw, k.dout, k.inp, k.w, RT, RN, RC);
    check_grad("readout dinp", k.inp, RT * RN * RC, dinp, readout_loss, &k, STEP, ATOL, RTOL);
    check_grad("readout dw", k.w, RT, dw, readout_loss, &k, STEP, ATOL, RTOL);

    float dinp2[RT * RN * RC], dw2[RT];
    memcpy(dinp2, dinp, sizeof dinp);
    memcpy(dw2, dw, sizeof dw);
    snn_readout_backward(dinp2, dw2, k.dout, k.inp, k.w, RT, RN, RC);
    check_doubled("readout dinp", dinp, dinp2, RT * RN * RC);
    check_doubled("readout dw", dw, dw2, RT);
}

/* ---- L2 normalisation */

enum { QR = 3, QC = 4 };

typedef struct {
    float inp[QR * QC], dout[QR * QC], out[QR * QC], norm[QR];
} l2norm_case;

static double l2norm_loss(void *ctx)
{
    l2norm_case *k = ctx;
    snn_l2norm_forward(k->out, k->norm, k->inp, QR, QC);
    return weighted_sum(k->dout, k->out, QR * QC);
}

static void test_l2norm(void)
{
    l2norm_case k;
    fill_uniform(k.inp, QR * QC, -1, 1);
    fill_uniform(k.dout, QR * QC, -1, 1);
    k.inp[0] = 3; /* row 0 is 3,4,0,0: norm 5 */
    k.inp[1] = 4;
    k.inp[2] = k.inp[3] = 0;

    l2norm_loss(&k);
    CHECK_NEAR(k.norm[0], 5.0, 1e-6, 0);
    CHECK_NEAR(k.out[0], 0.6, 1e-7, 0);
    CHECK_NEAR(k.out[1], 0.8, 1e-7, 0);

    float dinp[QR * QC] = {0};
    snn_l2norm_backward(dinp, k.dout, k.out, k.norm, QR, QC);
    check_grad("l2norm dinp", k.inp, QR * QC, dinp, l2norm_loss, &k, STEP, ATOL, RTOL);

    float dinp2[QR * QC];
    memcpy(dinp2, dinp, sizeof dinp);
    l2norm_loss(&k);
    snn_l2norm_backward(dinp2, k.dout, k.out, k.norm, QR, QC);
    check_doubled("l2norm dinp", dinp, dinp2, QR * QC);
}

static void test_l2norm_zero_row(void)
{
    float inp[3] = {0, 0, 0}, out[3], norm[1], dout[3] = {1, -2, 3}, dinp[3] = {0};

    snn_l2norm_forward(out, norm, inp, 1, 3);
    snn_l2norm_backward(dinp, dout, out, norm, 1, 3);
    for (int c = 0; c < 3; c++) {
        CHECK_NEAR(out[c], 0.0, 0, 0);
        CHECK_NEAR(dinp[c], 0.0, 0, 0);
    }
}

int main(void)
{
    test_linear_forward_values();
    test_linear_backward_fd();
    test_batchnorm_backward_fd();
    test_batchnorm_running_stats();
    test_batchnorm_inference();
    test_batchnorm_wide_threads();
    test_layernorm_forward_values();
    test_layernorm_backward_fd();
    test_embedding_forward_backward();
    test_readout();
    test_l2norm();
    test_l2norm_zero_row();
    CHECK_DONE();
}
