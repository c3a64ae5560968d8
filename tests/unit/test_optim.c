/* AdamW against hand-computed steps in PyTorch's formula, the gradient norm
 * and scaling. */
#include <omp.h>
#include <stdlib.h>

#include "check.h"
#include "layers.h"

static const snn_adamw_params adam = {
    .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};

static void test_adamw_two_steps_by_hand(void)
{
    /* Element 0 decays, element 1 does not; both see gradients 0.5 then -0.25.
     * Step 1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25,
     *   decayed: 1 * (1 - 0.1*0.01) - 0.1 * 0.5/(0.5 + 1e-8) = 0.899000002
     *   plain:   1 - 0.1 * 0.5/(0.5 + 1e-8)                  = 0.900000002
     * Step 2: m = 0.02, v = 0.00031225, mhat = 0.02/0.19 = 0.105263158,
     *   vhat = 0.00031225/0.001999 = 0.156203102,
     *   decayed: 0.899000002 * 0.999 - 0.1 * mhat/(sqrt(vhat) + 1e-8) = 0.871467299
     *   plain:   0.900000002 - 0.1 * mhat/(sqrt(vhat) + 1e-8)         = 0.873366299 */
    float param[2] = {1, 1}, m[2] = {0, 0}, v[2] = {0, 0};
    float g1[2] = {0.5f, 0.5f}, g2[2] = {-0.25f, -0.25f};

    snn_adamw_update(param, g1, m, v, 1, 1, &adam, 1);
    snn_adamw_update(param + 1, g1 + 1, m + 1, v + 1, 1, 1, &adam, 0);
    /* beta2 is a float: 1 - 0.999f = 0.00099998713, so v is 1.3e-5 low in
     * relative terms (PyTorch takes 1 - beta2 from a Python double). */
    CHECK_NEAR(m[0], 0.05, 0, 1e-6);
    CHECK_NEAR(v[0], 0.00025, 0, 2e-5);
    CHECK_NEAR(param[0], 0.899000002, 1e-7, 0);
    CHECK_NEAR(param[1], 0.900000002, 1e-7, 0);

    snn_adamw_update(param, g2, m, v, 1, 2, &adam, 1);
    snn_adamw_update(param + 1, g2 + 1, m + 1, v + 1, 1, 2, &adam, 0);
    CHECK_NEAR(m[0], 0.02, 0, 1e-6);
    CHECK_NEAR(v[0], 0.00031225, 0, 2e-5);
    CHECK_NEAR(param[0], 0.871467299, 1e-7, 0);
    CHECK_NEAR(param[1], 0.873366299, 1e-7, 0);
}

static void test_adamw_zero_grad_only_decays(void)
{
    /* With m = v = 0 and g = 0 the Adam term is 0/(0 + eps) = 0. */
    float param[1] = {2}, grad[1] = {0}, m[1] = {0}, v[1] = {0};

    snn_adamw_update(param, grad, m, v, 1, 1, &adam, 1);
    CHECK_NEAR(param[0], 2 * (1 - 0.1 * 0.01), 1e-7, 0);
}

static void test_grad_norm(void)
{
    float g[2] = {3, -4};
    CHECK_NEAR(snn_grad_norm(g, 2), 5.0, 1e-12, 0);
    CHECK_NEAR(snn_grad_norm(g, 0), 0.0, 0, 0);

    /* 40000 ones: norm 200, summed exactly in double across many blocks. */
    enum { N = 40000 };
    float *ones = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        ones[i] = 1;
    CHECK_NEAR(snn_grad_norm(ones, N), 200.0, 0, 0);
    free(ones);
}

static void test_grad_norm_threads_same_result(void)
{
    enum { N = 100003 };
    float *g = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        g[i] = 1.0f / (float)(i % 97 + 1) - 0.3f;

    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    double norm_1_thread = snn_grad_norm(g, N);
    omp_set_num_threads(3);
    double norm_3_threads = snn_grad_norm(g, N);
    omp_set_num_threads(saved);

    CHECK(norm_1_thread == norm_3_threads);
    free(g);
}

static void test_scale(void)
{
    float x[3] = {1, -2, 0.5f};
    snn_scale(x, 3, 0.5f);
    CHECK_NEAR(x[0], 0.5, 0, 0);
    CHECK_NEAR(x[1], -1.0, 0, 0);
    CHECK_NEAR(x[2], 0.25, 0, 0);
}

int main(void)
{
    test_adamw_two_steps_by_hand();
    test_adamw_zero_grad_only_decays();
    test_grad_norm();
    test_grad_norm_threads_same_result();
    test_scale();
    CHECK_DONE();
}
