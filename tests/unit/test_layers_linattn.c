/* Linear attention core against a direct triple loop and finite differences,
 * with heads small enough for one tile and one larger than a tile. */
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layers.h"

typedef struct {
    int nq, nk, c, heads;
    float scale;
    float *q, *k, *v, *dout, *out, *kv;
} attn_case;

static attn_case attn_new(int nq, int nk, int c, int heads)
{
    int d = c / heads;
    attn_case a = {nq, nk, c, heads, 0.125f, NULL, NULL, NULL, NULL, NULL, NULL};
    a.q = malloc(sizeof(float) * nq * c);
    a.k = malloc(sizeof(float) * nk * c);
    a.v = malloc(sizeof(float) * nk * c);
    a.dout = malloc(sizeof(float) * nq * c);
    a.out = malloc(sizeof(float) * nq * c);
    a.kv = malloc(sizeof(float) * heads * d * d);
    fill_uniform(a.q, (size_t)nq * c, 0, 1);
    fill_uniform(a.k, (size_t)nk * c, 0, 1);
    fill_uniform(a.v, (size_t)nk * c, 0, 1);
    fill_uniform(a.dout, (size_t)nq * c, -1, 1);
    return a;
}

static void attn_free(attn_case *a)
{
    free(a->q);
    free(a->k);
    free(a->v);
    free(a->dout);
    free(a->out);
    free(a->kv);
}

/* out[i, h*d + j] = scale * sum_a q[i, h*d + a] * sum_n k[n, h*d + a] v[n, h*d + j] */
static double attn_direct(const attn_case *a, int i, int col)
{
    int d = a->c / a->heads, h = col / d;
    double sum = 0.0;
    for (int x = h * d; x < (h + 1) * d; x++)
        for (int n = 0; n < a->nk; n++)
            sum += (double)a->q[i * a->c + x] * a->k[n * a->c + x] * a->v[n * a->c + col];
    return sum * a->scale;
}

static double attn_loss(void *ctx)
{
    attn_case *a = ctx;
    snn_linattn_forward(a->out, a->kv, a->q, a->k, a->v, a->nq, a->nk, a->c, a->heads, a->scale);
    return weighted_sum(a->dout, a->out, (size_t)a->nq * a->c);
}

static void check_attention(const char *name, int nq, int nk, int c, int heads)
{
    attn_case a = attn_new(nq, nk, c, heads);

    attn_loss(&a);
    for (int i = 0; i < nq; i++)
        for (int col = 0; col < c; col++)
            CHECK_NEAR(a.out[i * c + col], attn_direct(&a, i, col), 1e-5, 1e-5);

    float *dq = calloc((size_t)nq * c, sizeof(float));
    float *dk = calloc((size_t)nk * c, sizeof(float));
    float *dv = calloc((size_t)nk * c, sizeof(float));
    snn_linattn_backward(dq, dk, dv, a.dout, a.kv, a.q, a.k, a.v, nq, nk, c, heads, a.scale);

    /* The output is linear in each of q, k and v, so the step can be large. */
    char label[64];
    snprintf(label, sizeof label, "%s dq", name);
    check_grad(label, a.q, (size_t)nq * c, dq, attn_loss, &a, 0.25f, 1e-4, 1e-4);
    snprintf(label, sizeof label, "%s dk", name);
    check_grad(label, a.k, (size_t)nk * c, dk, attn_loss, &a, 0.25f, 1e-4, 1e-4);
    snprintf(label, sizeof label, "%s dv", name);
    check_grad(label, a.v, (size_t)nk * c, dv, attn_loss, &a, 0.25f, 1e-4, 1e-4);

    float *dq2 = malloc((size_t)nq * c * sizeof(float));
    float *dk2 = malloc((size_t)nk * c * sizeof(float));
    float *dv2 = malloc((size_t)nk * c * sizeof(float));
    memcpy(dq2, dq, (size_t)nq * c * sizeof(float));
    memcpy(dk2, dk, (size_t)nk * c * sizeof(float));
    memcpy(dv2, dv, (size_t)nk * c * sizeof(float));
    attn_loss(&a);
    snn_linattn_backward(dq2, dk2, dv2, a.dout, a.kv, a.q, a.k, a.v, nq, nk, c, heads, a.scale);
    snprintf(label, sizeof label, "%s dq", name);
    check_doubled(label, dq, dq2, (size_t)nq * c);
    snprintf(label, sizeof label, "%s dk", name);
    check_doubled(label, dk, dk2, (size_t)nk * c);
    snprintf(label, sizeof label, "%s dv", name);
    check_doubled(label, dv, dv2, (size_t)nk * c);

    free(dq2);
    free(dk2);
    free(dv2);
    free(dq);
    free(dk);
    free(dv);
    attn_free(&a);
}

int main(void)
{
    check_attention("linattn 2 heads of 4", 3, 5, 8, 2);
    check_attention("linattn 1 head of 72", 4, 3, 72, 1);
    check_attention("linattn 2 heads of 70", 2, 6, 140, 2);
    CHECK_DONE();
}
