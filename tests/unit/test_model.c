/* Tests of the assembled encoders. The backward pass of every module wired
 * together is checked against finite differences in ANN mode, because ReLU in
 * place of LIF makes the forward differentiable almost everywhere. Also checked:
 * spike outputs in SNN mode and the model file round trip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gradcheck.h"
#include "model.h"

#define B 3

typedef struct {
    snn_model *m;
    float pixels[B * 3 * 8 * 8];
    int ids[B * 4], off[B + 1];
    float *r_emb, *r_feat; /* random weights of the linear loss */
    int image;             /* 1: image encoder, 0: text encoder */
} setup;

static void small_config(snn_config *c, int ann)
{
    snn_config_default(c);
    c->dim = 8;
    c->heads = 2;
    c->ffn_hidden = 12;
    c->image_size = 8;
    c->grid = 2;
    c->stem_channels = 2;
    c->vocab_size = 20;
    c->max_len = 4;
    c->ann = ann;
    c->time_steps = ann ? 1 : 2;
}

static size_t rows(const setup *s)
{
    return s->image ? (size_t)B * s->m->cfg.grid * s->m->cfg.grid : (size_t)s->off[B];
}

static int forward(setup *s, snn_enc_out *out, snn_arena *ar)
{
    if (s->image)
        return snn_image_forward(s->m, out, s->pixels, B, 1, ar);
    return snn_text_forward(s->m, out, s->ids, s->off, B, 1, ar);
}

/* L = sum(r_emb .* emb) + sum(r_feat .* feat) */
static double loss(void *ctx)
{
    setup *s = ctx;
    snn_arena ar = {0};
    snn_enc_out out;
    CHECK_INT(forward(s, &out, &ar), SNN_OK);
    size_t n = rows(s) * s->m->cfg.dim;
    double l = weighted_sum(s->r_emb, out.emb, n) + weighted_sum(s->r_feat, out.feat, n);
    snn_arena_free(&ar);
    return l;
}

static void analytic_gradients(setup *s)
{
    snn_arena ar = {0};
    snn_enc_out out;
    snn_model_zero_grad(s->m);
    CHECK_INT(forward(s, &out, &ar), SNN_OK);
    if (s->image)
        CHECK_INT(snn_image_backward(s->m, &out, s->r_emb, s->r_feat, &ar), SNN_OK);
    else
        CHECK_INT(snn_text_backward(s->m, &out, s->r_emb, s->r_feat, &ar), SNN_OK);
    snn_arena_free(&ar);
}

static void fill_inputs(setup *s)
{
    fill_uniform(s->pixels, sizeof s->pixels / sizeof s->pixels[0], -2.0f, 2.0f);
    int lengths[B] = {2, 4, 3};
    s->off[0] = 0;
    for (int b = 0; b < B; b++) {
        s->off[b + 1] = s->off[b] + lengths[b];
        for (int i = s->off[b]; i < s->off[b + 1]; i++)
            s->ids[i] = (int)rand_uniform(0.0f, 19.99f);
    }
    size_t n = (size_t)B * 4 * s->m->cfg.dim;
    s->r_emb = malloc(n * sizeof(float));
    s->r_feat = malloc(n * sizeof(float));
    fill_uniform(s->r_emb, n, -1.0f, 1.0f);
    fill_uniform(s->r_feat, n, -1.0f, 1.0f);
}

/* Checks the gradient of every parameter tensor of one encoder ("img." or
 * "txt." prefix). ReLU kinks and max-pool switches make a few entries of a
 * finite difference meaningless, so each tensor may have at most 5% outliers.
 * A wiring error fails whole tensors. */
static void check_encoder(setup *s, const char *prefix)
{
    snn_model *m = s->m;
    analytic_gradients(s);
    float *grads = malloc(m->n_params * sizeof(float));
    memcpy(grads, m->grads, m->n_params * sizeof(float));

    int tensors = 0;
    for (size_t t = 0; t < m->n_tensors; t++) {
        const snn_tensor_info *ti = &m->tensors[t];
        if (ti->buffer || strncmp(ti->name, prefix, 4) != 0 || strstr(ti->name, ".vth"))
            continue;
        size_t bad = 0, n = ti->size < 40 ? ti->size : 40;
        for (size_t i = 0; i < n; i++) {
            size_t k = ti->offset + (i * 7919) % ti->size;
            float saved = m->params[k], h = 1e-3f;
            m->params[k] = saved + h;
            double up = loss(s);
            m->params[k] = saved - h;
            double down = loss(s);
            m->params[k] = saved;
            double fd = (up - down) / (2.0 * h);
            if (fabs(fd - grads[k]) > 2e-3 + 5e-2 * fabs(fd)) {
                bad++;
                if (getenv("GRADCHECK_VERBOSE"))
                    fprintf(stderr, "  %s[%zu]: analytic %.6g, numeric %.6g\n", ti->name,
                            k - ti->offset, grads[k], fd);
            }
        }
        if (bad * 20 > n) {
            fprintf(stderr, "%s: %zu of %zu gradient entries disagree with finite differences\n",
                    ti->name, bad, n);
            check_failures++;
        }
        tensors++;
    }
    CHECK(tensors > 10);
    free(grads);
}

static void test_ann_gradients(void)
{
    snn_config c;
    small_config(&c, 1);
    setup s = {0};
    snn_error err;
    CHECK_INT(snn_model_new(&s.m, &c, 7, &err), SNN_OK);
    fill_inputs(&s);
    /* The embeddings start small (std 0.02 and 0.002). L2 normalisation is so
     * curved there that a step of 1e-3 is no longer local, so scale them to 1. */
    for (size_t i = 0; i < (size_t)c.vocab_size * c.dim; i++)
        s.m->txt.tok[i] *= 50.0f;
    for (size_t i = 0; i < (size_t)c.max_len * c.dim; i++)
        s.m->txt.pos[i] *= 500.0f;

    s.image = 1;
    check_encoder(&s, "img.");
    s.image = 0;
    check_encoder(&s, "txt.");

    snn_model_free(s.m);
    free(s.r_emb);
    free(s.r_feat);
}

/* In SNN mode the block output must be whole numbers in 0..2*depth+1, and the
 * readout weights, which act after the spikes, have exact gradients. */
static void test_snn_outputs(void)
{
    snn_config c;
    small_config(&c, 0);
    c.learn_vth = 0.3f; /* low thresholds so the tiny model fires */
    setup s = {0};
    snn_error err;
    CHECK_INT(snn_model_new(&s.m, &c, 3, &err), SNN_OK);
    fill_inputs(&s);

    for (s.image = 1; s.image >= 0; s.image--) {
        snn_arena ar = {0};
        snn_enc_out out;
        CHECK_INT(forward(&s, &out, &ar), SNN_OK);
        size_t n = (size_t)c.time_steps * rows(&s) * c.dim, nonzero = 0;
        int whole = 1;
        for (size_t i = 0; i < n; i++) {
            float v = out.spikes[i];
            whole &= v == floorf(v) && v >= 0 && v <= 2 * c.depth + 1;
            nonzero += v != 0;
        }
        CHECK(whole);
        CHECK(nonzero > 0);
        snn_arena_free(&ar);

        analytic_gradients(&s);
        float *w = s.image ? s.m->img.readout : s.m->txt.readout;
        float *dw = s.image ? s.m->img.dreadout : s.m->txt.dreadout;
        float g[2] = {dw[0], dw[1]};
        for (int t = 0; t < 2; t++) {
            float saved = w[t], h = 1e-2f;
            w[t] = saved + h;
            double up = loss(&s);
            w[t] = saved - h;
            double down = loss(&s);
            w[t] = saved;
            CHECK_NEAR(g[t], (up - down) / (2.0 * h), 1e-3, 2e-2);
        }
    }
    CHECK_INT(snn_config_value_bits(&c), 2);
    snn_model_free(s.m);
    free(s.r_emb);
    free(s.r_feat);
}

static void test_save_load(void)
{
    snn_config c;
    small_config(&c, 0);
    snn_model *m, *back;
    snn_error err;
    CHECK_INT(snn_model_new(&m, &c, 11, &err), SNN_OK);
    m->step = 42;
    m->epoch = 3;
    char dir[] = "/tmp/test_model.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/m.st", dir);

    CHECK_INT(snn_model_save(m, path, 1, NULL, 0, &err), SNN_OK);
    CHECK_INT(snn_model_load(&back, path, &err), SNN_OK);
    CHECK_INT(back->n_params, m->n_params);
    CHECK(memcmp(back->params, m->params, m->n_params * sizeof(float)) == 0);
    CHECK(memcmp(back->buffers, m->buffers, m->n_buffers * sizeof(float)) == 0);
    CHECK_INT(back->step, 42);
    CHECK_INT(back->epoch, 3);
    CHECK_INT(back->cfg.dim, 8);
    CHECK(back->fingerprint == snn_model_fingerprint(m));

    /* One changed weight changes the fingerprint. */
    back->params[5] += 1.0f;
    CHECK(snn_model_fingerprint(back) != snn_model_fingerprint(m));

    snn_model_free(back);
    snn_model_free(m);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_ann_gradients();
    test_snn_outputs();
    test_save_load();
    CHECK_DONE();
}
