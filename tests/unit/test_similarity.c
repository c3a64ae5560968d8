/* Token-set similarity (forward against a double-precision loop, backward against
 * central finite differences), the InfoNCE loss, and spike embeddings. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "layers.h"
#include "similarity.h"

static uint64_t rng_state = 88172645463325252ULL;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Fills rows (n,D) with random unit vectors. */
static void random_unit_rows(float *x, int n, int D)
{
    for (int r = 0; r < n; r++) {
        double sq = 0.0;
        for (int d = 0; d < D; d++) {
            x[r * D + d] = (float)(2.0 * uniform() - 1.0);
            sq += (double)x[r * D + d] * x[r * D + d];
        }
        for (int d = 0; d < D; d++)
            x[r * D + d] /= (float)sqrt(sq);
    }
}

/* ---- double-precision references */

static double dot(const float *x, const float *y, int D)
{
    double s = 0.0;
    for (int d = 0; d < D; d++)
        s += (double)x[d] * y[d];
    return s;
}

static double naive_fine(const float *img, int R, const float *txt, int W, int D, double tau)
{
    double a[64], b[64], sum = 0.0;
    for (int r = 0; r < R; r++) {
        a[r] = -2.0;
        for (int w = 0; w < W; w++)
            a[r] = fmax(a[r], dot(img + r * D, txt + w * D, D));
    }
    for (int w = 0; w < W; w++) {
        b[w] = -2.0;
        for (int r = 0; r < R; r++)
            b[w] = fmax(b[w], dot(img + r * D, txt + w * D, D));
    }
    for (int r = 0; r < R; r++)
        for (int w = 0; w < W; w++)
            sum += exp(a[r] * b[w] / tau);
    return tau * log(sum / (R * W));
}

static double naive_global(const float *img, int R, const float *txt, int W, int D)
{
    double u[64] = {0}, v[64] = {0}, uu = 0, vv = 0, uv = 0;
    for (int d = 0; d < D; d++) {
        for (int r = 0; r < R; r++)
            u[d] += img[r * D + d] / (double)R;
        for (int w = 0; w < W; w++)
            v[d] += txt[w * D + d] / (double)W;
        uu += u[d] * u[d];
        vv += v[d] * v[d];
        uv += u[d] * v[d];
    }
    return uv / sqrt(uu * vv);
}

/* ---- a random batch of token sets */

#define MAX_ROWS 64
#define MAX_D 16

typedef struct {
    int Bi, Bt, D;
    int img_off[16], txt_off[16];
    float img[MAX_ROWS * MAX_D], txt[MAX_ROWS * MAX_D];
} batch;

static void random_batch(batch *b, int Bi, int Bt, int D)
{
    b->Bi = Bi;
    b->Bt = Bt;
    b->D = D;
    b->img_off[0] = b->txt_off[0] = 0;
    for (int i = 0; i < Bi; i++)
        b->img_off[i + 1] = b->img_off[i] + 1 + (int)(uniform() * 4);
    for (int j = 0; j < Bt; j++)
        b->txt_off[j + 1] = b->txt_off[j] + 1 + (int)(uniform() * 4);
    random_unit_rows(b->img, b->img_off[Bi], D);
    random_unit_rows(b->txt, b->txt_off[Bt], D);
}

/* Smallest gap between the largest and second-largest cosine of any row or column
 * of any pair's cosine block. The max is only piecewise smooth, so finite
 * differences are valid when the gap is well above the step. */
static double min_max_gap(const batch *b)
{
    double gap = 1e9;
    for (int i = 0; i < b->Bi; i++)
        for (int j = 0; j < b->Bt; j++)
            for (int pass = 0; pass < 2; pass++) {
                int n_out = pass ? b->txt_off[j + 1] - b->txt_off[j] : b->img_off[i + 1] - b->img_off[i];
                int n_in = pass ? b->img_off[i + 1] - b->img_off[i] : b->txt_off[j + 1] - b->txt_off[j];
                for (int o = 0; o < n_out; o++) {
                    double first = -9, second = -9;
                    for (int k = 0; k < n_in; k++) {
                        int r = b->img_off[i] + (pass ? k : o), w = b->txt_off[j] + (pass ? o : k);
                        double c = dot(b->img + r * b->D, b->txt + w * b->D, b->D);
                        if (c > first) {
                            second = first;
                            first = c;
                        } else if (c > second) {
                            second = c;
                        }
                    }
                    if (n_in > 1)
                        gap = fmin(gap, first - second);
                }
            }
    return gap;
}

static void forward(float *sim, snn_sim_cache **cache, const batch *b, const snn_sim_params *p)
{
    snn_error err = {0};
    int rc = snn_sim_forward(sim, cache, b->img, b->img_off, b->Bi, b->txt, b->txt_off, b->Bt,
                             b->D, p, &err);
    if (rc)
        fprintf(stderr, "snn_sim_forward: %s\n", err.msg);
    CHECK_INT(rc, SNN_OK);
}

/* ---- tests */

static void test_forward_matches_naive(int mode)
{
    snn_sim_params p = {mode, 0.1f};
    batch b;
    random_batch(&b, 4, 5, 8);
    float sim[20];
    forward(sim, NULL, &b, &p);

    for (int i = 0; i < b.Bi; i++)
        for (int j = 0; j < b.Bt; j++) {
            const float *x = b.img + b.img_off[i] * b.D, *y = b.txt + b.txt_off[j] * b.D;
            int R = b.img_off[i + 1] - b.img_off[i], W = b.txt_off[j + 1] - b.txt_off[j];
            double want = mode == SNN_SIM_FINE ? naive_fine(x, R, y, W, b.D, 0.1)
                                               : naive_global(x, R, y, W, b.D);
            CHECK_NEAR(sim[i * b.Bt + j], want, 2e-6, 1e-5);
        }
}

/* Central differences of L = sum(g .* sim) with respect to every input entry. */
static void check_backward_fd(batch *b, const snn_sim_params *p, double step)
{
    float g[64], sim[64], dimg[MAX_ROWS * MAX_D] = {0}, dtxt[MAX_ROWS * MAX_D] = {0};
    int n = b->Bi * b->Bt;
    for (int k = 0; k < n; k++)
        g[k] = (float)(2.0 * uniform() - 1.0);

    snn_sim_cache *cache = NULL;
    forward(sim, &cache, b, p);
    snn_sim_backward(dimg, dtxt, g, cache, b->img, b->txt);
    snn_sim_cache_free(cache);

    for (int side = 0; side < 2; side++) {
        float *x = side ? b->txt : b->img, *dx = side ? dtxt : dimg;
        int entries = (side ? b->txt_off[b->Bt] : b->img_off[b->Bi]) * b->D;
        for (int e = 0; e < entries; e++) {
            float keep = x[e];
            double lplus = 0, lminus = 0;
            x[e] = keep + (float)step;
            forward(sim, NULL, b, p);
            for (int k = 0; k < n; k++)
                lplus += (double)g[k] * sim[k];
            x[e] = keep - (float)step;
            forward(sim, NULL, b, p);
            for (int k = 0; k < n; k++)
                lminus += (double)g[k] * sim[k];
            x[e] = keep;
            CHECK_NEAR(dx[e], (lplus - lminus) / (2.0 * step), 2e-3, 2e-2);
        }
    }
}

static void test_fine_backward_fd(void)
{
    snn_sim_params p = {SNN_SIM_FINE, 0.1f};
    batch b;
    do
        random_batch(&b, 3, 4, 6);
    while (min_max_gap(&b) < 0.02);
    check_backward_fd(&b, &p, 1e-3);
}

static void test_global_backward_fd(void)
{
    snn_sim_params p = {SNN_SIM_GLOBAL, 0.1f};
    batch b;
    random_batch(&b, 3, 4, 6);
    check_backward_fd(&b, &p, 1e-3);
}

/* Backward adds into its outputs instead of overwriting them. */
static void test_backward_accumulates(void)
{
    snn_sim_params p = {SNN_SIM_FINE, 0.1f};
    batch b;
    random_batch(&b, 2, 2, 4);
    float sim[4], g[4] = {1, -1, 0.5f, 2};
    float once[MAX_ROWS * MAX_D] = {0}, twice[MAX_ROWS * MAX_D] = {0};
    float scratch[MAX_ROWS * MAX_D] = {0};
    snn_sim_cache *cache = NULL;
    forward(sim, &cache, &b, &p);
    snn_sim_backward(once, scratch, g, cache, b.img, b.txt);
    snn_sim_backward(twice, scratch, g, cache, b.img, b.txt);
    snn_sim_backward(twice, scratch, g, cache, b.img, b.txt);
    snn_sim_cache_free(cache);
    for (int e = 0; e < b.img_off[b.Bi] * b.D; e++)
        CHECK_NEAR(twice[e], 2.0 * once[e], 1e-6, 1e-6);
}

/* One token per set: a = b = c, so sim = tau*log(exp(c*c/tau)) = c^2. */
static void test_single_tokens(void)
{
    snn_sim_params p = {SNN_SIM_FINE, 0.1f};
    float img[2] = {1, 0}, txt[4] = {0.6f, 0.8f, -1, 0}, sim[2];
    int img_off[2] = {0, 1}, txt_off[3] = {0, 1, 2};
    snn_error err;
    CHECK_INT(snn_sim_forward(sim, NULL, img, img_off, 1, txt, txt_off, 2, 2, &p, &err), SNN_OK);
    CHECK_NEAR(sim[0], 0.36, 1e-6, 0);
    CHECK_NEAR(sim[1], 1.0, 1e-6, 0);
}

/* Blocks of the cosine matrix: more caption rows than one block holds, and
 * enough image rows to split the images too. */
static void test_blocked_forward(void)
{
    enum { B = 300, L = 8, D = 4 };
    float *img = malloc(sizeof(float) * B * L * D), *txt = malloc(sizeof(float) * B * L * D);
    float *sim = malloc(sizeof(float) * B * B);
    int img_off[B + 1], txt_off[B + 1];
    for (int k = 0; k <= B; k++)
        img_off[k] = txt_off[k] = k * L;
    random_unit_rows(img, B * L, D);
    random_unit_rows(txt, B * L, D);

    snn_sim_params p = {SNN_SIM_FINE, 0.1f};
    snn_error err;
    CHECK_INT(snn_sim_forward(sim, NULL, img, img_off, B, txt, txt_off, B, D, &p, &err), SNN_OK);
    double worst = 0.0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double want = naive_fine(img + i * L * D, L, txt + j * L * D, L, D, 0.1);
            worst = fmax(worst, fabs(sim[i * B + j] - want));
        }
    CHECK_NEAR(worst, 0.0, 1e-5, 0);
    free(img);
    free(txt);
    free(sim);
}

/* Passing &off[k] scores sets k.. with their row indices unchanged. */
static void test_offset_subrange(void)
{
    snn_sim_params p = {SNN_SIM_FINE, 0.1f};
    batch b;
    random_batch(&b, 4, 3, 5);
    float full[12], part[9];
    snn_error err;
    forward(full, NULL, &b, &p);
    CHECK_INT(snn_sim_forward(part, NULL, b.img, b.img_off + 1, 3, b.txt, b.txt_off, 3, b.D, &p,
                              &err), SNN_OK);
    for (int k = 0; k < 9; k++)
        CHECK_NEAR(part[k], full[3 + k], 0, 0);
}

static void test_invalid_input(void)
{
    snn_sim_params p = {SNN_SIM_FINE, 0.1f};
    float x[4] = {1, 0, 0, 1}, sim[4];
    int empty[3] = {0, 1, 1}, ok[2] = {0, 2};
    snn_error err = {0};
    CHECK_INT(snn_sim_forward(sim, NULL, x, empty, 2, x, ok, 1, 2, &p, &err), SNN_EINVAL);
    CHECK(strstr(err.msg, "image set 1 is empty") != NULL);

    p.temperature = 0.0f;
    CHECK_INT(snn_sim_forward(sim, NULL, x, ok, 1, x, ok, 1, 2, &p, &err), SNN_EINVAL);
    CHECK(strstr(err.msg, "temperature") != NULL);
}

/* ---- InfoNCE */

static void test_infonce_hand_values(void)
{
    /* image 0: x = (0.3-0.9+0.2)/0.1 = -4;  image 1: (0.5-0.8+0.2)/0.1 = -1;
     * caption 0: (0.5-0.9+0.2)/0.1 = -2;    caption 1: (0.3-0.8+0.2)/0.1 = -3;
     * loss = (log1p(e^-4) + log1p(e^-1))/2 + (log1p(e^-2) + log1p(e^-3))/2 */
    float sim[4] = {0.9f, 0.3f, 0.5f, 0.8f};
    double loss = snn_infonce(NULL, sim, 2, 0.1f, 0.2f, 1.0f);
    CHECK_NEAR(loss, (0.0181499279 + 0.3132616875) / 2 + (0.1269280110 + 0.0485873516) / 2,
               1e-6, 0);

    /* d loss / d s01 = (sigmoid(-4) from image 0 + sigmoid(-3) from caption 1) / (tau*B) */
    float dsim[4] = {0};
    snn_infonce(dsim, sim, 2, 0.1f, 0.2f, 1.0f);
    double s4 = 1.0 / (1.0 + exp(4.0)), s3 = 1.0 / (1.0 + exp(3.0));
    CHECK_NEAR(dsim[1], (s4 + s3) / 0.2, 1e-5, 1e-5);
}

/* A negative that trails its positive by exactly the margin gives x = 0, so each
 * term is log 2; far-separated pairs cost almost nothing. */
static void test_infonce_margin(void)
{
    float at_margin[4] = {0.5f, 0.3f, 0.3f, 0.5f};
    CHECK_NEAR(snn_infonce(NULL, at_margin, 2, 0.1f, 0.2f, 1.0f), 2.0 * log(2.0), 1e-6, 0);
    CHECK_NEAR(snn_infonce(NULL, at_margin, 2, 0.1f, 0.0f, 1.0f), 2.0 * log1p(exp(-2.0)),
               1e-6, 0);

    float separated[4] = {1.0f, 0.0f, 0.0f, 1.0f};
    CHECK_NEAR(snn_infonce(NULL, separated, 2, 0.1f, 0.2f, 1.0f), 2.0 * log1p(exp(-8.0)),
               1e-7, 0);
    CHECK(snn_infonce(NULL, separated, 2, 0.1f, 0.2f, 1.0f)
          > snn_infonce(NULL, separated, 2, 0.1f, 0.0f, 1.0f));
}

/* Large logits must not overflow: x = 100 gives a loss of about 100 per term. */
static void test_infonce_stable(void)
{
    float sim[4] = {-1.0f, 1.0f, 1.0f, -1.0f};
    double loss = snn_infonce(NULL, sim, 2, 0.02f, 0.0f, 1.0f);
    CHECK(isfinite(loss));
    CHECK_NEAR(loss, 2.0 * 100.0, 1e-6, 1e-6);
}

static void test_infonce_gradient_fd(void)
{
    enum { B = 4 };
    float sim[B * B], dsim[B * B];
    for (int k = 0; k < B * B; k++) {
        sim[k] = (float)(2.0 * uniform() - 1.0);
        dsim[k] = 0.25f; /* the gradient is added to what is there */
    }
    snn_infonce(dsim, sim, B, 0.1f, 0.2f, 0.5f);
    for (int k = 0; k < B * B; k++) {
        float keep = sim[k];
        double h = 1e-3;
        sim[k] = keep + (float)h;
        double plus = snn_infonce(NULL, sim, B, 0.1f, 0.2f, 1.0f);
        sim[k] = keep - (float)h;
        double minus = snn_infonce(NULL, sim, B, 0.1f, 0.2f, 1.0f);
        sim[k] = keep;
        CHECK_NEAR(dsim[k] - 0.25f, 0.5 * (plus - minus) / (2 * h), 1e-3, 1e-2);
    }
}

/* ---- spike embeddings */

static void test_embed_spikes(void)
{
    /* (T=2, n=2, D=2); row 0 sums to 2*(1,0) + 1*(1,1) = (3,1); row 1 never fires. */
    uint8_t values[8] = {1, 0, 0, 0, 1, 1, 0, 0};
    float readout[2] = {2.0f, 1.0f}, out[4];
    CHECK_INT(snn_embed_spikes(out, values, 2, 2, 2, readout), SNN_OK);
    CHECK_NEAR(out[0], 3.0 / sqrt(10.0), 1e-7, 0);
    CHECK_NEAR(out[1], 1.0 / sqrt(10.0), 1e-7, 0);
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == 0.0f);
    CHECK_INT(snn_embed_spikes(out, values, 0, 2, 2, readout), SNN_EINVAL);
}

/* Bit for bit what the model computes with snn_readout_forward and
 * snn_l2norm_forward. */
static void test_embed_matches_model(void)
{
    enum { T = 2, N = 5, D = 7 };
    uint8_t values[T * N * D];
    float inp[T * N * D], sum[N * D], want[N * D], norm[N], got[N * D];
    float readout[T] = {2.3026f, 1.9f};
    for (int k = 0; k < T * N * D; k++) {
        values[k] = (uint8_t)(uniform() * 4);
        inp[k] = values[k];
    }
    snn_readout_forward(sum, inp, readout, T, N, D);
    snn_l2norm_forward(want, norm, sum, N, D);
    snn_embed_spikes(got, values, T, N, D, readout);
    CHECK(memcmp(got, want, sizeof got) == 0);
}

int main(void)
{
    test_forward_matches_naive(SNN_SIM_FINE);
    test_forward_matches_naive(SNN_SIM_GLOBAL);
    test_fine_backward_fd();
    test_global_backward_fd();
    test_backward_accumulates();
    test_single_tokens();
    test_blocked_forward();
    test_offset_subrange();
    test_invalid_input();
    test_infonce_hand_values();
    test_infonce_margin();
    test_infonce_stable();
    test_infonce_gradient_fd();
    test_embed_spikes();
    test_embed_matches_model();
    CHECK_DONE();
}
