/* Model construction: the parameter registry, initialisation, and the wiring of
 * every module to its slice of the parameter and gradient buffers. */
#include "model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rng.h"

enum { INIT_ZERO, INIT_ONE, INIT_CONST, INIT_UNIFORM, INIT_NORMAL };

/* Registration runs twice: the first pass (params == NULL) only counts sizes,
 * the second assigns pointers into the allocated buffers and initialises them. */
typedef struct {
    snn_model *m;
    snn_rng rng;
    int counting;
    size_t params, buffers;
} builder;

static float *add(builder *b, float **grad, int buffer, int decay, int init, float scale,
                  int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

static float *add(builder *b, float **grad, int buffer, int decay, int init, float scale,
                  int ndim, const int64_t *shape, const char *fmt, ...)
{
    size_t size = 1;
    for (int i = 0; i < ndim; i++)
        size *= (size_t)shape[i];
    size_t offset = buffer ? b->buffers : b->params;
    if (buffer)
        b->buffers += size;
    else
        b->params += size;
    if (b->counting) {
        b->m->n_tensors++;
        return NULL;
    }

    snn_model *m = b->m;
    snn_tensor_info *t = &m->tensors[m->n_tensors++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->offset = offset;
    t->size = size;
    t->buffer = buffer;
    t->decay = decay;

    float *p = (buffer ? m->buffers : m->params) + offset;
    if (grad)
        *grad = buffer ? NULL : m->grads + offset;
    for (size_t i = 0; i < size; i++) {
        switch (init) {
        case INIT_ZERO: p[i] = 0.0f; break;
        case INIT_ONE: p[i] = 1.0f; break;
        case INIT_CONST: p[i] = scale; break;
        case INIT_UNIFORM: p[i] = (float)((2.0 * snn_rng_uniform(&b->rng) - 1.0) * scale); break;
        case INIT_NORMAL: p[i] = (float)(snn_rng_normal(&b->rng) * scale); break;
        }
    }
    return p;
}

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

/* PyTorch's default Linear/Conv init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static void linear(builder *b, snn_linear *l, int in, int out, int bias, int fan_in,
                   const char *name)
{
    float bound = 1.0f / sqrtf((float)fan_in);
    l->in = in;
    l->out = out;
    l->w = add(b, &l->dw, 0, 1, INIT_UNIFORM, bound, 2, SHAPE(out, in), "%s.weight", name);
    l->b = l->db = NULL;
    if (bias)
        l->b = add(b, &l->db, 0, 0, INIT_UNIFORM, bound, 1, SHAPE(out), "%s.bias", name);
}

static void batchnorm(builder *b, snn_bn *n, int C, const char *name)
{
    n->C = C;
    n->gamma = add(b, &n->dgamma, 0, 0, INIT_ONE, 0, 1, SHAPE(C), "%s.weight", name);
    n->beta = add(b, &n->dbeta, 0, 0, INIT_ZERO, 0, 1, SHAPE(C), "%s.bias", name);
    n->rmean = add(b, NULL, 1, 0, INIT_ZERO, 0, 1, SHAPE(C), "%s.running_mean", name);
    n->rvar = add(b, NULL, 1, 0, INIT_ONE, 0, 1, SHAPE(C), "%s.running_var", name);
}

static void layernorm(builder *b, snn_ln *n, int C, const char *name)
{
    n->C = C;
    n->gamma = add(b, &n->dgamma, 0, 0, INIT_ONE, 0, 1, SHAPE(C), "%s.weight", name);
    n->beta = add(b, &n->dbeta, 0, 0, INIT_ZERO, 0, 1, SHAPE(C), "%s.bias", name);
}

/* learnable: 0 fixed threshold vth; 1 learnable scalar starting at vth. */
static snn_lif *lif(builder *b, float vth, int learnable, const char *name)
{
    snn_model *m = b->m;
    const snn_config *c = &m->cfg;
    if (b->counting) {
        if (learnable)
            add(b, NULL, 0, 0, INIT_CONST, vth, 1, SHAPE(1), "%s.vth", name);
        m->n_lifs++;
        return NULL;
    }
    snn_lif *l = &m->lifs[m->n_lifs++];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->p = (snn_lif_params){.tau = c->tau, .vth = vth, .alpha = c->surrogate_alpha,
                            .relu = c->ann};
    if (learnable)
        l->vth = add(b, &l->dvth, 0, 0, INIT_CONST, vth, 1, SHAPE(1), "%s.vth", name);
    return l;
}

/* A LIF at the model's default threshold, learnable when learn_vth > 0. */
static snn_lif *lif_default(builder *b, float vth, const char *name)
{
    float learn = b->m->cfg.learn_vth;
    return learn > 0 ? lif(b, learn, 1, name) : lif(b, vth, 0, name);
}

static void lbl(builder *b, snn_lbl *u, int in, int out, float vth, const char *name)
{
    char sub[72];
    snprintf(sub, sizeof sub, "%s.linear", name);
    linear(b, &u->lin, in, out, 0, in, sub);
    snprintf(sub, sizeof sub, "%s.bn", name);
    batchnorm(b, &u->bn, out, sub);
    snprintf(sub, sizeof sub, "%s.lif", name);
    u->lif = lif_default(b, vth, sub);
}

static void attention(builder *b, snn_attention *a, const char *name)
{
    const snn_config *c = &b->m->cfg;
    int D = c->dim;
    char sub[56];
    const char *parts[] = {"q", "k", "v"};
    snn_lbl *units[] = {&a->q, &a->k, &a->v};
    for (int i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s.%s", name, parts[i]);
        lbl(b, units[i], D, D, c->vth, sub);
    }
    snprintf(sub, sizeof sub, "%s.attn_lif", name);
    a->attn_lif = lif_default(b, c->vth_attn, sub);
    snprintf(sub, sizeof sub, "%s.proj", name);
    lbl(b, &a->proj, D, D, c->vth, sub);
    a->heads = c->heads;
    a->scale = c->attn_scale;
}

static void ffn(builder *b, snn_ffn *f, const char *name)
{
    const snn_config *c = &b->m->cfg;
    int D = c->dim, F = c->ffn_hidden;
    char sub[56];
    snprintf(sub, sizeof sub, "%s.fc_a", name);
    linear(b, &f->fc_a, D, F, 0, D, sub);
    snprintf(sub, sizeof sub, "%s.fc_g", name);
    linear(b, &f->fc_g, D, F, 1, D, sub);
    snprintf(sub, sizeof sub, "%s.bn_a", name);
    batchnorm(b, &f->bn_a, F, sub);
    snprintf(sub, sizeof sub, "%s.lif_a", name);
    f->lif_a = lif_default(b, c->vth, sub);
    snprintf(sub, sizeof sub, "%s.out", name);
    lbl(b, &f->out, F, D, c->vth, sub);
}

static void blocks(builder *b, snn_block *blk, const char *prefix)
{
    char sub[40];
    for (int l = 0; l < b->m->cfg.depth; l++) {
        snprintf(sub, sizeof sub, "%s.blocks.%d.attn", prefix, l);
        attention(b, &blk[l].attn, sub);
        snprintf(sub, sizeof sub, "%s.blocks.%d.ffn", prefix, l);
        ffn(b, &blk[l].ffn, sub);
    }
}

static float *readout(builder *b, float **grad, const char *prefix)
{
    const snn_config *c = &b->m->cfg;
    float *w = add(b, grad, 0, 0, INIT_CONST, c->readout_rest, 1, SHAPE(c->time_steps),
                   "%s.readout", prefix);
    if (w)
        w[0] = c->readout_first;
    return w;
}

static void stem(builder *b, snn_stem *s)
{
    const snn_config *c = &b->m->cfg;
    char sub[40];
    s->stages = snn_config_stages(c);
    int C = 3;
    for (int i = 0; i < s->stages; i++) {
        int OC = c->stem_channels << i;
        snprintf(sub, sizeof sub, "img.stem.conv%d", i);
        linear(b, &s->conv[i], C * 9, OC, 0, C * 9, sub);
        snprintf(sub, sizeof sub, "img.stem.bn%d", i);
        batchnorm(b, &s->bn[i], OC, sub);
        snprintf(sub, sizeof sub, "img.stem.lif%d", i);
        s->lif[i] = lif_default(b, c->vth, sub);
        C = OC;
    }
    linear(b, &s->pos_conv, C * 9, C, 0, C * 9, "img.stem.pos_conv");
    batchnorm(b, &s->pos_bn, C, "img.stem.pos_bn");
    lbl(b, &s->proj, C, c->dim, c->vth_attn, "img.stem.proj");
}

/* Registered after both encoders, so the encoders' tensors, offsets and random
 * initial values are the same with and without fusion. */
static void fusion(builder *b, snn_fusion *f, const char *prefix)
{
    char sub[40];
    snprintf(sub, sizeof sub, "%s.attn", prefix);
    attention(b, &f->attn, sub);
    snprintf(sub, sizeof sub, "%s.ffn", prefix);
    ffn(b, &f->ffn, sub);
    f->readout = readout(b, &f->dreadout, prefix);
}

static void build(builder *b)
{
    snn_model *m = b->m;
    const snn_config *c = &m->cfg;
    m->n_tensors = 0;
    m->n_lifs = 0;

    stem(b, &m->img.stem);
    blocks(b, m->img.blocks, "img");
    m->img.readout = readout(b, &m->img.dreadout, "img");

    snn_text_encoder *t = &m->txt;
    /* BERT's N(0, 0.02): AdamW steps are then large relative to the weights, and
     * with N(0, 1) the embeddings barely moved in a short run. Positions start ten
     * times smaller so a caption's float features start as its words. */
    t->tok = add(b, &t->dtok, 0, 1, INIT_NORMAL, 0.02f, 2, SHAPE(c->vocab_size, c->dim),
                 "txt.token_embedding");
    t->pos = add(b, &t->dpos, 0, 1, INIT_NORMAL, 0.002f, 2, SHAPE(c->max_len, c->dim),
                 "txt.position_embedding");
    layernorm(b, &t->coder.ln, c->dim, "txt.coder.ln");
    t->coder.lif = lif(b, c->coder_vth, 1, "txt.coder.lif");
    blocks(b, t->blocks, "txt");
    t->readout = readout(b, &t->dreadout, "txt");

    if (c->fusion) {
        fusion(b, &m->fuse_img, "fuse.img");
        fusion(b, &m->fuse_txt, "fuse.txt");
    }
}

int snn_model_new(snn_model **out, const snn_config *cfg, uint64_t seed, snn_error *err)
{
    *out = NULL;
    int rc = snn_config_check(cfg, err);
    if (rc)
        return rc;
    snn_model *m = calloc(1, sizeof *m);
    if (!m)
        return snn_fail(err, SNN_ENOMEM, "out of memory allocating the model");
    m->cfg = *cfg;

    builder b = {.m = m, .counting = 1};
    build(&b);
    if (m->n_lifs > SNN_MAX_LIFS) {
        int n = m->n_lifs;
        free(m);
        return snn_fail(err, SNN_EINVAL, "the model has %d LIF layers, more than %d: use a "
                        "smaller depth", n, SNN_MAX_LIFS);
    }

    m->n_params = b.params;
    m->n_buffers = b.buffers;
    m->cap_tensors = m->n_tensors;
    m->params = snn_zalloc(m->n_params, sizeof(float));
    m->grads = snn_zalloc(m->n_params, sizeof(float));
    m->adam_m = snn_zalloc(m->n_params, sizeof(float));
    m->adam_v = snn_zalloc(m->n_params, sizeof(float));
    m->buffers = snn_zalloc(m->n_buffers, sizeof(float));
    m->tensors = snn_zalloc(m->cap_tensors, sizeof *m->tensors);
    if (!m->params || !m->grads || !m->adam_m || !m->adam_v || !m->buffers || !m->tensors) {
        snn_model_free(m);
        return snn_fail(err, SNN_ENOMEM, "out of memory allocating %zu parameters", b.params);
    }

    b = (builder){.m = m, .counting = 0};
    snn_rng_seed(&b.rng, seed);
    build(&b);
    *out = m;
    return SNN_OK;
}

void snn_model_free(snn_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->adam_m);
    free(m->adam_v);
    free(m->buffers);
    free(m->tensors);
    free(m);
}

void snn_model_zero_grad(snn_model *m)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
}

void snn_model_reset_rates(snn_model *m)
{
    for (int i = 0; i < m->n_lifs; i++)
        m->lifs[i].spikes = m->lifs[i].count = 0;
}
