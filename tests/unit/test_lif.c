/* LIF neuron: hand-computed spike trains, the surrogate backward (including the
 * threshold gradient) against finite differences of a surrogate forward, the
 * surrogate at extreme potentials, ANN mode and thread-count independence. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "gradcheck.h"
#include "layers.h"

static const snn_lif_params default_lif = {.tau = 2.0f, .vth = 1.0f, .alpha = 4.0f, .relu = 0};

static void test_lif_forward_by_hand(void)
{
    /* Five neurons, T = 4, tau 2, vth 1; h = v + (x - v)/2, reset to 0 on a spike.
     * x = 1.5:  h = 0.75, 1.125 (spike), 0.75, 1.125 (spike)
     * x = 2.0:  h = 1.0 (h == vth spikes), then the same each step
     * x = 0.5:  h = 0.25, 0.375, 0.4375, 0.46875, never reaching vth
     * x = -1:   h = -0.5, -0.75, -0.875, -0.9375
     * x = 3,0,0,2 over time: h = 1.5 (spike), 0, 0, 1.0 (spike) */
    enum { T = 4, N = 5 };
    float inp[T * N] = {
        1.5f, 2, 0.5f, -1, 3,
        1.5f, 2, 0.5f, -1, 0,
        1.5f, 2, 0.5f, -1, 0,
        1.5f, 2, 0.5f, -1, 2,
    };
    float want_h[T * N] = {
        0.75f, 1, 0.25f, -0.5f, 1.5f,
        1.125f, 1, 0.375f, -0.75f, 0,
        0.75f, 1, 0.4375f, -0.875f, 0,
        1.125f, 1, 0.46875f, -0.9375f, 1,
    };
    float want_s[T * N] = {
        0, 1, 0, 0, 1,
        1, 1, 0, 0, 0,
        0, 1, 0, 0, 0,
        1, 1, 0, 0, 1,
    };
    float spike[T * N], h[T * N];

    snn_lif_forward(spike, h, inp, T, N, &default_lif);
    for (int i = 0; i < T * N; i++) {
        CHECK_NEAR(h[i], want_h[i], 0, 0);
        CHECK_NEAR(spike[i], want_s[i], 0, 0);
    }

    /* h is optional when no backward follows. */
    float spike2[T * N];
    snn_lif_forward(spike2, NULL, inp, T, N, &default_lif);
    CHECK(memcmp(spike, spike2, sizeof spike) == 0);
}

/* Forward in double in which the output spike is sigmoid(a(h - vth)) while the
 * reset uses the hard spikes of the unperturbed run, held fixed. Its exact
 * gradient is what the surrogate backward with a detached reset computes. */
enum { ST = 4, SN = 7 };

typedef struct {
    float inp[ST * SN], hard[ST * SN], dspike[ST * SN];
    snn_lif_params p;
} surrogate_case;

static double surrogate_loss(void *ctx)
{
    surrogate_case *k = ctx;
    double loss = 0.0;

    for (int i = 0; i < SN; i++) {
        double v = 0.0;
        for (int t = 0; t < ST; t++) {
            double h = v + (k->inp[t * SN + i] - v) / k->p.tau;
            double s = 1.0 / (1.0 + exp(-k->p.alpha * (h - k->p.vth)));
            loss += k->dspike[t * SN + i] * s;
            v = h * (1.0 - k->hard[t * SN + i]);
        }
    }
    return loss;
}

static void check_surrogate_backward(const char *name, snn_lif_params p)
{
    surrogate_case k;
    k.p = p;
    fill_uniform(k.inp, ST * SN, -0.5f, 1.5f * p.tau * p.vth);
    fill_uniform(k.dspike, ST * SN, -1, 1);
    float h[ST * SN], dinp[ST * SN] = {0}, dvth = 0.25f;

    snn_lif_forward(k.hard, h, k.inp, ST, SN, &p);
    snn_lif_backward(dinp, &dvth, k.dspike, h, k.hard, k.inp, ST, SN, &p);
    dvth -= 0.25f; /* backward adds to the value already there */

    /* Both spikes and silent steps are needed to test the reset path. */
    int spikes = 0;
    for (int i = 0; i < ST * SN; i++)
        spikes += k.hard[i] != 0;
    CHECK(spikes >= 4);
    CHECK(spikes <= ST * SN - 4);

    char label[64];
    snprintf(label, sizeof label, "%s dinp", name);
    check_grad(label, k.inp, ST * SN, dinp, surrogate_loss, &k, 1e-3f, 1e-5, 1e-3);
    snprintf(label, sizeof label, "%s dvth", name);
    check_grad(label, &k.p.vth, 1, &dvth, surrogate_loss, &k, 1e-3f, 1e-5, 1e-3);

    float dinp2[ST * SN], dvth2 = dvth;
    memcpy(dinp2, dinp, sizeof dinp);
    snn_lif_backward(dinp2, &dvth2, k.dspike, h, k.hard, k.inp, ST, SN, &p);
    snprintf(label, sizeof label, "%s dinp", name);
    check_doubled(label, dinp, dinp2, ST * SN);
    snprintf(label, sizeof label, "%s dvth", name);
    check_doubled(label, &dvth, &dvth2, 1);
}

static void test_lif_backward_surrogate_fd(void)
{
    check_surrogate_backward("lif tau 2", default_lif);
    check_surrogate_backward("lif tau 1.5 vth 0.5",
                             (snn_lif_params){.tau = 1.5f, .vth = 0.5f, .alpha = 4.0f});
    check_surrogate_backward("lif alpha 2",
                             (snn_lif_params){.tau = 3.0f, .vth = 1.0f, .alpha = 2.0f});
}

static void test_lif_backward_at_threshold(void)
{
    /* T = 1, h = vth: sg' = a/4 = 1, so dinp = 1/tau = 0.5 and dvth = -1. */
    float h[1] = {1}, spike[1] = {1}, inp[1] = {2}, dspike[1] = {1};
    float dinp[1] = {0}, dvth = 0;

    snn_lif_backward(dinp, &dvth, dspike, h, spike, inp, 1, 1, &default_lif);
    CHECK_NEAR(dinp[0], 0.5, 1e-7, 0);
    CHECK_NEAR(dvth, -1.0, 1e-7, 0);
}

static void test_lif_surrogate_extreme_h(void)
{
    /* Neither exp overflow nor inf/inf may turn into NaN; the slope is 0 there. */
    enum { N = 6 };
    float h[N] = {1e30f, -1e30f, 3e38f, -3e38f, INFINITY, -INFINITY};
    float spike[N] = {1, 0, 1, 0, 1, 0}, inp[N] = {0}, dspike[N] = {1, 1, 1, 1, 1, 1};
    float dinp[N] = {0}, dvth = 0;

    snn_lif_backward(dinp, &dvth, dspike, h, spike, inp, 1, N, &default_lif);
    for (int i = 0; i < N; i++) {
        CHECK(isfinite(dinp[i]));
        CHECK_NEAR(dinp[i], 0.0, 0, 0);
    }
    CHECK(isfinite(dvth));
    CHECK_NEAR(dvth, 0.0, 0, 0);
}

static void test_relu_mode(void)
{
    snn_lif_params p = default_lif;
    p.relu = 1;
    float inp[4] = {-1, 0, 0.5f, 3}, spike[4];
    float dspike[4] = {1, 2, 3, 4}, dinp[4] = {0}, dvth = 7;

    snn_lif_forward(spike, NULL, inp, 1, 4, &p);
    CHECK_NEAR(spike[0], 0, 0, 0);
    CHECK_NEAR(spike[1], 0, 0, 0);
    CHECK_NEAR(spike[2], 0.5, 0, 0);
    CHECK_NEAR(spike[3], 3, 0, 0);

    /* The gradient passes only where x > 0; the threshold has none. */
    snn_lif_backward(dinp, &dvth, dspike, NULL, spike, inp, 1, 4, &p);
    CHECK_NEAR(dinp[0], 0, 0, 0);
    CHECK_NEAR(dinp[1], 0, 0, 0);
    CHECK_NEAR(dinp[2], 3, 0, 0);
    CHECK_NEAR(dinp[3], 4, 0, 0);
    CHECK_NEAR(dvth, 7, 0, 0);
}

static void test_lif_threads_same_result(void)
{
    /* Several neuron blocks, so dvth is a sum of many block sums. */
    enum { T = 2, N = 5000 };
    static float inp[T * N], spike[T * N], h[T * N], dspike[T * N];
    static float dinp1[T * N], dinp3[T * N];
    fill_uniform(inp, T * N, -1, 3);
    fill_uniform(dspike, T * N, -1, 1);
    snn_lif_forward(spike, h, inp, T, N, &default_lif);

    int saved = omp_get_max_threads();
    float dvth1 = 0, dvth3 = 0;
    omp_set_num_threads(1);
    snn_lif_backward(dinp1, &dvth1, dspike, h, spike, inp, T, N, &default_lif);
    omp_set_num_threads(3);
    snn_lif_backward(dinp3, &dvth3, dspike, h, spike, inp, T, N, &default_lif);
    omp_set_num_threads(saved);

    CHECK(dvth1 == dvth3);
    CHECK(memcmp(dinp1, dinp3, sizeof dinp1) == 0);
}

int main(void)
{
    test_lif_forward_by_hand();
    test_lif_backward_surrogate_fd();
    test_lif_backward_at_threshold();
    test_lif_surrogate_extreme_h();
    test_relu_mode();
    test_lif_threads_same_result();
    CHECK_DONE();
}
