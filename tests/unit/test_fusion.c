/* Tests of the cross-modal fusion modules and the full CMSF objective. The
 * gradients of the fusion parameters, of the fusion inputs and of the encoders
 * behind them are checked against finite differences in ANN mode (ReLU in
 * place of LIF, differentiable almost everywhere). Further tests cover a
 * fusion weight of 0, which leaves training unchanged, and model files with
 * and without fusion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gradcheck.h"
#include "model.h"
#include "safetensors.h"

#define B 3
#define IMG_FLOATS (3 * 8 * 8)

typedef struct {
    snn_model *m;
    float pixels[B * IMG_FLOATS];
    int ids[B * 4], off[B + 1];
    float *r_img, *r_txt; /* random weights of the linear loss on the fused embeddings */
    snn_enc_out io, to;   /* encoder outputs that the input-gradient test perturbs */
    snn_train_params tp;  /* for the full-objective test */
} setup;

static void small_config(snn_config *c, int ann, int fusion)
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
    c->fusion = fusion;
}

static void fill_inputs(setup *s)
{
    fill_uniform(s->pixels, B * IMG_FLOATS, -2.0f, 2.0f);
    int lengths[B] = {2, 4, 3};
    s->off[0] = 0;
    for (int b = 0; b < B; b++) {
        s->off[b + 1] = s->off[b] + lengths[b];
        for (int i = s->off[b]; i < s->off[b + 1]; i++)
            s->ids[i] = (int)rand_uniform(0.0f, 19.99f);
    }
    size_t n = (size_t)B * 4 * s->m->cfg.dim;
    s->r_img = malloc(n * sizeof(float));
    s->r_txt = malloc(n * sizeof(float));
    fill_uniform(s->r_img, n, -1.0f, 1.0f);
    fill_uniform(s->r_txt, n, -1.0f, 1.0f);
}

static void free_setup(setup *s)
{
    snn_model_free(s->m);
    free(s->r_img);
    free(s->r_txt);
}

/* Returns 1 when g agrees with the central or one of the one-sided
 * differences of loss over x[k] with step h. A ReLU input or a maximum within
 * h of its switch spoils the central difference, but the side without the
 * switch still gives the gradient. */
static int agrees(float *x, size_t k, double g, float h, double atol, double base, loss_fn loss,
                  void *ctx, double fd[3])
{
    float saved = x[k];
    x[k] = saved + h;
    double up = loss(ctx);
    x[k] = saved - h;
    double down = loss(ctx);
    x[k] = saved;

    fd[0] = (up - down) / (2.0 * h);
    fd[1] = (up - base) / h;
    fd[2] = (base - down) / h;
    int ok = 0;
    for (int j = 0; j < 3; j++)
        ok |= fabs(fd[j] - g) <= atol + 5e-2 * fabs(fd[j]);
    return ok;
}

/* Compares sampled entries of grad with finite differences of loss over x,
 * with h = 1e-3, or 1e-4 for an entry whose larger steps cross several
 * switches (the first stem convolution moves hundreds of ReLU inputs at
 * once). At most 5% of the samples may disagree, so a wiring error fails
 * whole tensors. */
static void check_sampled(const char *name, float *x, size_t size, const float *grad,
                          size_t samples, double atol, loss_fn loss, void *ctx)
{
    size_t bad = 0, n = size < samples ? size : samples;
    double base = loss(ctx), fd[3];
    for (size_t i = 0; i < n; i++) {
        size_t k = size <= samples ? i : (i * 7919) % size;
        if (agrees(x, k, grad[k], 1e-3f, atol, base, loss, ctx, fd) ||
            agrees(x, k, grad[k], 1e-4f, atol, base, loss, ctx, fd))
            continue;
        bad++;
        if (getenv("GRADCHECK_VERBOSE"))
            fprintf(stderr, "  %s[%zu]: analytic %.6g, finite differences with h = 1e-4: "
                    "%.6g (central), %.6g (forward), %.6g (backward)\n", name, k, grad[k],
                    fd[0], fd[1], fd[2]);
    }
    if (bad * 20 > n) {
        fprintf(stderr, "%s: %zu of %zu gradient entries disagree with finite differences\n",
                name, bad, n);
        check_failures++;
    }
}

/* Checks every trained tensor whose name starts with prefix against the
 * gradients in grads (a copy of m->grads); returns the number checked. */
static int check_tensors(setup *s, const float *grads, const char *prefix, size_t samples,
                         double atol, loss_fn loss)
{
    snn_model *m = s->m;
    int tensors = 0;
    for (size_t t = 0; t < m->n_tensors; t++) {
        const snn_tensor_info *ti = &m->tensors[t];
        if (ti->buffer || strncmp(ti->name, prefix, strlen(prefix)) != 0 ||
            strstr(ti->name, ".vth"))
            continue;
        check_sampled(ti->name, m->params + ti->offset, ti->size, grads + ti->offset, samples,
                      atol, loss, s);
        tensors++;
    }
    return tensors;
}

/* ---- fusion of real encoder outputs with a linear loss on the fused embeddings */

static double fused_loss(setup *s, const snn_enc_out *io, const snn_enc_out *to, snn_arena *ar)
{
    snn_fuse_out fi, ft;
    snn_error err;
    CHECK_INT(snn_fuse_forward(s->m, &s->m->fuse_img, &fi, io, to, 1, ar, &err), SNN_OK);
    CHECK_INT(snn_fuse_forward(s->m, &s->m->fuse_txt, &ft, to, io, 1, ar, &err), SNN_OK);
    int D = s->m->cfg.dim;
    return weighted_sum(s->r_img, fi.emb, io->N * D) + weighted_sum(s->r_txt, ft.emb, to->N * D);
}

/* L = sum(r_img .* fuse(image, caption)) + sum(r_txt .* fuse(caption, image)),
 * with both encoders run from the parameters. */
static double end_to_end_loss(void *ctx)
{
    setup *s = ctx;
    snn_arena ar = {0};
    snn_enc_out io, to;
    CHECK_INT(snn_image_forward(s->m, &io, s->pixels, B, 1, &ar), SNN_OK);
    CHECK_INT(snn_text_forward(s->m, &to, s->ids, s->off, B, 1, &ar), SNN_OK);
    double l = fused_loss(s, &io, &to, &ar);
    snn_arena_free(&ar);
    return l;
}

/* The same loss with the encoder outputs in s->io and s->to held fixed. */
static double fusion_only_loss(void *ctx)
{
    setup *s = ctx;
    snn_arena ar = {0};
    double l = fused_loss(s, &s->io, &s->to, &ar);
    snn_arena_free(&ar);
    return l;
}

typedef struct {
    float *dspikes_img, *dspikes_txt, *dfeat_img, *dfeat_txt;
} input_grads;

/* Runs the fusion backward of fused_loss into g (zeroed here) and the fusion
 * parameter gradients. */
static void fusion_backward(setup *s, const snn_enc_out *io, const snn_enc_out *to,
                            input_grads *g, snn_arena *ar)
{
    snn_model *m = s->m;
    int T = m->cfg.time_steps, D = m->cfg.dim;
    size_t ni = io->N * D, nt = to->N * D;
    snn_fuse_out fi, ft;
    snn_error err;
    g->dspikes_img = snn_arena_zeros(ar, (size_t)T * ni);
    g->dspikes_txt = snn_arena_zeros(ar, (size_t)T * nt);
    g->dfeat_img = snn_arena_zeros(ar, ni);
    g->dfeat_txt = snn_arena_zeros(ar, nt);

    CHECK_INT(snn_fuse_forward(m, &m->fuse_img, &fi, io, to, 1, ar, &err), SNN_OK);
    CHECK_INT(snn_fuse_forward(m, &m->fuse_txt, &ft, to, io, 1, ar, &err), SNN_OK);
    CHECK_INT(snn_fuse_backward(m, &m->fuse_img, &fi, s->r_img, g->dspikes_img, g->dspikes_txt,
                                g->dfeat_img, ar), SNN_OK);
    CHECK_INT(snn_fuse_backward(m, &m->fuse_txt, &ft, s->r_txt, g->dspikes_txt, g->dspikes_img,
                                g->dfeat_txt, ar), SNN_OK);
}

static void new_setup_config(setup *s, const snn_config *c, uint64_t seed)
{
    snn_error err;
    memset(s, 0, sizeof *s);
    CHECK_INT(snn_model_new(&s->m, c, seed, &err), SNN_OK);
    fill_inputs(s);
}

/* The text embeddings start small (std 0.02 and 0.002). L2 normalisation is so
 * curved there that a step of 1e-3 is no longer local, so the gradient tests
 * scale them to about 1. */
static void scale_embeddings(snn_model *m)
{
    const snn_config *c = &m->cfg;
    for (size_t i = 0; i < (size_t)c->vocab_size * c->dim; i++)
        m->txt.tok[i] *= 50.0f;
    for (size_t i = 0; i < (size_t)c->max_len * c->dim; i++)
        m->txt.pos[i] *= 500.0f;
}

static void new_setup(setup *s, int ann, int fusion, uint64_t seed)
{
    snn_config c;
    small_config(&c, ann, fusion);
    new_setup_config(s, &c, seed);
}

/* Every fusion parameter, and every encoder parameter through the gradients the
 * fusion sends back into the block outputs and the float features. */
static void test_fusion_parameter_gradients(void)
{
    setup s;
    new_setup(&s, 1, 1, 7);
    snn_model *m = s.m;
    scale_embeddings(m);
    snn_arena ar = {0};
    snn_enc_out io, to;
    input_grads g;
    snn_model_zero_grad(m);
    CHECK_INT(snn_image_forward(m, &io, s.pixels, B, 1, &ar), SNN_OK);
    CHECK_INT(snn_text_forward(m, &to, s.ids, s.off, B, 1, &ar), SNN_OK);
    fusion_backward(&s, &io, &to, &g, &ar);
    snn_enc_grad gi = {.dspikes = g.dspikes_img, .dfeat_raw = g.dfeat_img};
    snn_enc_grad gt = {.dspikes = g.dspikes_txt, .dfeat_raw = g.dfeat_txt};
    CHECK_INT(snn_image_backward_full(m, &io, &gi, &ar), SNN_OK);
    CHECK_INT(snn_text_backward_full(m, &to, &gt, &ar), SNN_OK);
    snn_arena_free(&ar);

    float *grads = malloc(m->n_params * sizeof(float));
    memcpy(grads, m->grads, m->n_params * sizeof(float));
    CHECK_INT(check_tensors(&s, grads, "fuse.img.", 40, 2e-3, end_to_end_loss), 21);
    CHECK_INT(check_tensors(&s, grads, "fuse.txt.", 40, 2e-3, end_to_end_loss), 21);
    CHECK(check_tensors(&s, grads, "img.", 40, 2e-3, end_to_end_loss) > 10);
    CHECK(check_tensors(&s, grads, "txt.", 40, 2e-3, end_to_end_loss) > 10);

    /* The fusion readout must have a gradient, or the test above proves little. */
    CHECK(fabsf(grads[m->tensors[m->n_tensors - 1].offset]) > 1e-4f);
    free(grads);
    free_setup(&s);
}

/* The gradients at the fusion inputs: both encoders' spikes (each is the query
 * of one fusion module and the context of the other) and float features. */
static void test_fusion_input_gradients(void)
{
    setup s;
    new_setup(&s, 1, 1, 5);
    snn_model *m = s.m;
    scale_embeddings(m);
    int D = m->cfg.dim;
    snn_arena enc = {0}, ar = {0};
    CHECK_INT(snn_image_forward(m, &s.io, s.pixels, B, 1, &enc), SNN_OK);
    CHECK_INT(snn_text_forward(m, &s.to, s.ids, s.off, B, 1, &enc), SNN_OK);
    input_grads g;
    fusion_backward(&s, &s.io, &s.to, &g, &ar);

    size_t ni = s.io.N * D, nt = s.to.N * D;
    check_sampled("image spikes", s.io.spikes, ni, g.dspikes_img, ni, 2e-3, fusion_only_loss,
                  &s);
    check_sampled("caption spikes", s.to.spikes, nt, g.dspikes_txt, nt, 2e-3,
                  fusion_only_loss, &s);
    check_sampled("image feat_raw", s.io.feat_raw, ni, g.dfeat_img, ni, 2e-3,
                  fusion_only_loss, &s);
    check_sampled("caption feat_raw", s.to.feat_raw, nt, g.dfeat_txt, nt, 2e-3,
                  fusion_only_loss, &s);

    /* Both paths into the spikes carry gradient. */
    double sum = 0;
    for (size_t i = 0; i < nt; i++)
        sum += fabs(g.dspikes_txt[i]);
    CHECK(sum > 1e-3);
    snn_arena_free(&ar);
    snn_arena_free(&enc);
    free_setup(&s);
}

/* ---- the full objective through snn_train_step: with lr 0 the step leaves
 * the parameters unchanged and m->grads contains the gradient of st.loss. */

static double objective(void *ctx)
{
    setup *s = ctx;
    snn_arena ar = {0};
    snn_train_stats st;
    snn_error err;
    CHECK_INT(snn_train_step(s->m, s->pixels, s->ids, s->off, B, &s->tp, &st, &ar, &err),
              SNN_OK);
    snn_arena_free(&ar);
    return st.loss;
}

static void test_objective_gradients(void)
{
    setup s;
    new_setup(&s, 1, 1, 9);
    s.tp = (snn_train_params){.w_spike = 1.0f, .w_float = 0.5f, .w_fusion = 0.7f};
    snn_model *m = s.m;
    scale_embeddings(m);
    float *before = malloc(m->n_params * sizeof(float));
    memcpy(before, m->params, m->n_params * sizeof(float));

    objective(&s);
    CHECK(memcmp(before, m->params, m->n_params * sizeof(float)) == 0);
    float *grads = malloc(m->n_params * sizeof(float));
    memcpy(grads, m->grads, m->n_params * sizeof(float));
    /* The maxima of the fine similarity add switches, and a one-sided difference
     * next to one can miss a gradient near 0 by a few 1e-3. Four in five of the
     * sampled gradients exceed 0.1, so an absolute tolerance of 1e-2 still
     * fails a wrong one. */
    CHECK(check_tensors(&s, grads, "fuse.", 12, 1e-2, objective) > 40);
    CHECK(check_tensors(&s, grads, "img.", 12, 1e-2, objective) > 10);
    CHECK(check_tensors(&s, grads, "txt.", 12, 1e-2, objective) > 10);
    free(before);
    free(grads);
    free_setup(&s);
}

/* ---- structure, the zero fusion weight, SNN-mode training */

static int has_fuse_tensor(const snn_model *m)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (strncmp(m->tensors[i].name, "fuse.", 5) == 0)
            return 1;
    return 0;
}

static const snn_tensor_info *find_tensor(const snn_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

static void test_fusion_off_structure(void)
{
    snn_config c;
    snn_model *off, *on;
    snn_error err;
    small_config(&c, 0, 0);
    CHECK_INT(snn_model_new(&off, &c, 4, &err), SNN_OK);
    c.fusion = 1;
    CHECK_INT(snn_model_new(&on, &c, 4, &err), SNN_OK);

    CHECK(!has_fuse_tensor(off));
    CHECK(off->fuse_img.readout == NULL);
    CHECK(off->fuse_txt.readout == NULL);
    CHECK(find_tensor(on, "fuse.img.attn.q.linear.weight") != NULL);
    CHECK(find_tensor(on, "fuse.txt.ffn.out.bn.running_var") != NULL);
    const snn_tensor_info *ro = find_tensor(on, "fuse.txt.readout");
    CHECK(ro != NULL);
    if (ro) {
        CHECK_INT(ro->size, 2);
        CHECK(on->params[ro->offset] == c.readout_first);
        CHECK(on->params[ro->offset + 1] == c.readout_rest);
    }
    CHECK_INT(on->n_lifs, off->n_lifs + 14);

    /* The encoders come first, with the same layout and initial values. */
    CHECK(on->n_params > off->n_params);
    for (size_t i = 0; i < off->n_tensors; i++)
        CHECK_STR(on->tensors[i].name, off->tensors[i].name);
    CHECK(memcmp(on->params, off->params, off->n_params * sizeof(float)) == 0);

    c.fusion = 2;
    CHECK_INT(snn_config_check(&c, &err), SNN_EINVAL);
    snn_model_free(off);
    snn_model_free(on);
}

static void test_fusion_needs_modules(void)
{
    setup s;
    new_setup(&s, 0, 0, 2);
    snn_arena ar = {0};
    snn_error err = {0};
    snn_train_stats st;
    snn_train_params tp = {.lr = 1e-3f, .w_spike = 1.0f, .w_fusion = 1.0f};
    CHECK_INT(snn_train_step(s.m, s.pixels, s.ids, s.off, B, &tp, &st, &ar, &err), SNN_EINVAL);
    CHECK(strstr(err.msg, "fusion 1") != NULL);

    snn_enc_out io, to;
    snn_fuse_out fo;
    CHECK_INT(snn_image_forward(s.m, &io, s.pixels, B, 1, &ar), SNN_OK);
    CHECK_INT(snn_text_forward(s.m, &to, s.ids, s.off, B, 1, &ar), SNN_OK);
    CHECK_INT(snn_fuse_forward(s.m, &s.m->fuse_img, &fo, &io, &to, 1, &ar, &err), SNN_EINVAL);
    snn_arena_free(&ar);
    free_setup(&s);
}

/* A fusion weight of 0 skips the fusion modules: the encoders of a model with
 * fusion train bit for bit as those of the same model without it. */
static void test_zero_weight_identical(void)
{
    snn_config c;
    small_config(&c, 0, 1);
    c.learn_vth = 0.3f; /* low thresholds so the tiny model fires */
    setup on, off;
    new_setup_config(&on, &c, 6);
    c.fusion = 0;
    new_setup_config(&off, &c, 6);
    memcpy(off.pixels, on.pixels, sizeof on.pixels);
    memcpy(off.ids, on.ids, sizeof on.ids);
    snn_train_params tp = {.lr = 1e-2f, .weight_decay = 1e-4f, .clip = 2.0f, .w_spike = 1.0f,
                           .w_float = 1.0f, .w_fusion = 0.0f};
    snn_arena ar = {0};
    snn_error err;
    for (int step = 0; step < 3; step++) {
        snn_train_stats a, b;
        CHECK_INT(snn_train_step(on.m, on.pixels, on.ids, on.off, B, &tp, &a, &ar, &err), SNN_OK);
        snn_arena_reset(&ar);
        CHECK_INT(snn_train_step(off.m, off.pixels, off.ids, off.off, B, &tp, &b, &ar, &err),
                  SNN_OK);
        snn_arena_reset(&ar);
        CHECK(a.loss == b.loss);
        CHECK(a.grad_norm == b.grad_norm);
        CHECK(a.loss_ff == 0);
        CHECK(a.loss_uf == 0);
        CHECK(a.loss_fu == 0);
    }
    CHECK(memcmp(on.m->params, off.m->params, off.m->n_params * sizeof(float)) == 0);
    CHECK(memcmp(on.m->buffers, off.m->buffers, off.m->n_buffers * sizeof(float)) == 0);
    CHECK(memcmp(on.m->adam_v, off.m->adam_v, off.m->n_params * sizeof(float)) == 0);

    /* The fusion LIFs never ran. */
    for (int i = off.m->n_lifs; i < on.m->n_lifs; i++)
        CHECK(on.m->lifs[i].count == 0);
    snn_arena_free(&ar);
    free_setup(&on);
    free_setup(&off);
}

/* SNN mode with fusion: the three terms are reported and add up to the loss,
 * the fusion parameters train, and calibration moves the fusion statistics. */
static void test_snn_fusion_step(void)
{
    snn_config c;
    small_config(&c, 0, 1);
    c.learn_vth = 0.3f;
    setup s;
    new_setup_config(&s, &c, 3);
    snn_error err;
    snn_model *m = s.m;
    const snn_tensor_info *w = find_tensor(m, "fuse.img.ffn.fc_g.weight");
    const snn_tensor_info *rm = find_tensor(m, "fuse.txt.attn.k.bn.running_mean");
    float w0 = m->params[w->offset];

    snn_arena ar = {0};
    CHECK_INT(snn_calibrate_step(m, s.pixels, s.ids, s.off, B, &ar, &err), SNN_OK);
    CHECK(m->buffers[rm->offset] != 0.0f);
    snn_arena_reset(&ar);

    snn_train_params tp = {.lr = 1e-2f, .clip = 2.0f, .w_spike = 1.0f, .w_float = 1.0f,
                           .w_fusion = 0.5f};
    snn_train_stats st;
    CHECK_INT(snn_train_step(m, s.pixels, s.ids, s.off, B, &tp, &st, &ar, &err), SNN_OK);
    CHECK(st.loss_ff > 0);
    CHECK(st.loss_uf > 0);
    CHECK(st.loss_fu > 0);
    CHECK_NEAR(st.loss, st.loss_spike + st.loss_float +
               0.5 * (st.loss_ff + st.loss_uf + st.loss_fu), 1e-9, 1e-9);
    CHECK(m->params[w->offset] != w0);
    double spikes = 0;
    for (int i = 0; i < m->n_lifs; i++)
        if (strncmp(m->lifs[i].name, "fuse.", 5) == 0)
            spikes += m->lifs[i].spikes;
    CHECK(spikes > 0);
    snn_arena_free(&ar);
    free_setup(&s);
}

/* ANN mode (ReLU, T = 1) trains through snn_train_step alone, with and
 * without fusion: the loss on a fixed batch falls. */
static void test_ann_training(void)
{
    for (int fusion = 0; fusion <= 1; fusion++) {
        setup s;
        new_setup(&s, 1, fusion, 8);
        snn_train_params tp = {.lr = 1e-2f, .clip = 2.0f, .w_spike = 1.0f, .w_float = 1.0f,
                               .w_fusion = fusion ? 1.0f : 0.0f};
        snn_arena ar = {0};
        snn_error err;
        snn_train_stats st;
        double first = 0;
        for (int step = 0; step < 15; step++) {
            CHECK_INT(snn_train_step(s.m, s.pixels, s.ids, s.off, B, &tp, &st, &ar, &err),
                      SNN_OK);
            snn_arena_reset(&ar);
            if (step == 0)
                first = st.loss;
        }
        CHECK(isfinite(st.loss));
        CHECK(st.loss < 0.8 * first);
        CHECK(fusion ? st.loss_ff > 0 : st.loss_ff == 0);
        snn_arena_free(&ar);
        free_setup(&s);
    }
}

/* ---- model files */

/* Copies the model file src to dst without the metadata entry `drop`. */
static void copy_without(const char *src, const char *dst, const char *drop)
{
    snn_st_file *f;
    snn_error err;
    CHECK_INT(snn_st_read(&f, src, &err), SNN_OK);
    size_t nt = snn_st_count(f), nm = snn_st_meta_count(f), k = 0;
    snn_st_tensor *t = malloc(nt * sizeof *t);
    snn_st_meta *meta = malloc(nm * sizeof *meta);
    for (size_t i = 0; i < nt; i++)
        t[i] = *snn_st_get(f, i);
    for (size_t i = 0; i < nm; i++)
        if (strcmp(snn_st_meta_at(f, i)->key, drop) != 0)
            meta[k++] = *snn_st_meta_at(f, i);
    CHECK_INT(k, nm - 1);
    CHECK_INT(snn_st_write(dst, t, nt, meta, k, &err), SNN_OK);
    free(t);
    free(meta);
    snn_st_free(f);
}

static void test_model_files(void)
{
    snn_config c;
    snn_model *off, *on, *back;
    snn_error err;
    small_config(&c, 0, 0);
    CHECK_INT(snn_model_new(&off, &c, 12, &err), SNN_OK);
    c.fusion = 1;
    CHECK_INT(snn_model_new(&on, &c, 12, &err), SNN_OK);
    char dir[] = "/tmp/test_fusion.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64], old[64];
    snprintf(path, sizeof path, "%s/m.st", dir);
    snprintf(old, sizeof old, "%s/old.st", dir);

    /* A file from before the fusion field loads as a model without fusion. */
    CHECK_INT(snn_model_save(off, path, 0, NULL, 0, &err), SNN_OK);
    copy_without(path, old, "fusion");
    CHECK_INT(snn_model_load(&back, old, &err), SNN_OK);
    CHECK_INT(back->cfg.fusion, 0);
    CHECK(back->fingerprint == snn_model_fingerprint(off));
    snn_model_free(back);

    /* Other fields stay required. */
    copy_without(path, old, "ann");
    CHECK_INT(snn_model_load(&back, old, &err), SNN_EFORMAT);
    CHECK(strstr(err.msg, "metadata \"ann\" is missing") != NULL);

    CHECK_INT(snn_model_save(on, path, 1, NULL, 0, &err), SNN_OK);
    CHECK_INT(snn_model_load(&back, path, &err), SNN_OK);
    CHECK_INT(back->cfg.fusion, 1);
    CHECK_INT(back->n_params, on->n_params);
    CHECK(memcmp(back->params, on->params, on->n_params * sizeof(float)) == 0);
    CHECK(back->fingerprint == snn_model_fingerprint(on));
    CHECK(snn_model_fingerprint(on) != snn_model_fingerprint(off));
    snn_model_free(back);

    snn_model_free(off);
    snn_model_free(on);
    unlink(path);
    unlink(old);
    rmdir(dir);
}

int main(void)
{
    test_fusion_parameter_gradients();
    test_fusion_input_gradients();
    test_objective_gradients();
    test_fusion_off_structure();
    test_fusion_needs_modules();
    test_zero_weight_identical();
    test_snn_fusion_step();
    test_ann_training();
    test_model_files();
    CHECK_DONE();
}
