/* snn-train: trains the spiking image and text encoders on a dataset split and
 * writes the model, a checkpoint per epoch and a per-epoch TSV log. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batches.h"
#include "cli.h"
#include "options.h"
#include "pairs.h"
#include "safetensors.h"
#include "similarity.h"
#include "text.h"

typedef struct {
    train_options o;
    snn_vocab *vocab;
    snn_dataset *dataset;
    snn_pairs train, val;
    int has_val;
    snn_model *model;
    FILE *log;
    char *checkpoint;
    int keep_best;      /* -o receives the epoch with the best validation rSum */
    double best_rsum;   /* -1 before the first validation */
    long best_epoch;
} trainer;

static void load_data(trainer *t)
{
    snn_error err;
    const train_options *o = &t->o;
    if (snn_vocab_load(&t->vocab, o->vocab, &err) ||
        snn_dataset_load(&t->dataset, o->dataset, o->image_root, &err))
        cli_die(&err);
    uint64_t vfp = snn_vocab_fingerprint(t->vocab);
    if (t->model && t->model->cfg.vocab_fingerprint != vfp) {
        cli_error("%s: vocabulary differs from the one %s was trained with: pass the same "
                  "--vocab", o->vocab, o->resume);
        exit(CLI_FAILED);
    }

    const snn_config *c = &t->model->cfg;
    if (snn_pairs_load(&t->train, t->dataset, o->split, t->vocab, c, &err)) {
        snn_fail_prefix(&err, "%s: split \"%s\"", o->dataset, o->split);
        cli_die(&err);
    }
    t->has_val = strcmp(o->val_split, "none") != 0;
    if (t->has_val && snn_pairs_load(&t->val, t->dataset, o->val_split, t->vocab, c, &err)) {
        snn_fail_prefix(&err, "%s: split \"%s\"", o->dataset, o->val_split);
        cli_die(&err);
    }
    cli_info("%s: %d images, %d captions, %d groups in \"%s\"; %d images, %d captions in \"%s\"",
             o->dataset, t->train.n_images, t->train.n_caps, t->train.n_groups, o->split,
             t->val.n_images, t->val.n_caps, t->has_val ? o->val_split : "(none)");
    if (t->train.truncated)
        cli_info("%zu training captions truncated to %d tokens", t->train.truncated,
                 c->max_len);
}

static void make_model(trainer *t)
{
    snn_error err;
    train_options *o = &t->o;
    if (o->resume) {
        if (snn_model_load(&t->model, o->resume, &err))
            cli_die(&err);
        cli_info("resuming from %s after epoch %ld (step %ld)", o->resume, t->model->epoch,
                 t->model->step);
        return;
    }
    snn_vocab *v;
    if (snn_vocab_load(&v, o->vocab, &err))
        cli_die(&err);
    o->cfg.vocab_size = (int)snn_vocab_size(v);
    o->cfg.vocab_fingerprint = snn_vocab_fingerprint(v);
    snn_vocab_free(v);
    if (snn_model_new(&t->model, &o->cfg, o->seed, &err)) {
        snn_fail_prefix(&err, "invalid model options");
        cli_error("%s", err.msg);
        exit(CLI_USAGE);
    }
    cli_info("model: %zu parameters, D=%d, T=%d, depth %d", t->model->n_params,
             o->cfg.dim, o->cfg.time_steps, o->cfg.depth);
}

static void log_header(trainer *t)
{
    if (!t->log)
        return;
    fprintf(t->log, "epoch\tsteps\tlr\tloss\tloss_spike\tloss_float\tloss_ff\tloss_uf\t"
            "loss_fu\tgrad_norm\trate_mean");
    for (int i = 0; i < t->model->n_lifs; i++)
        fprintf(t->log, "\trate:%s", t->model->lifs[i].name);
    fprintf(t->log, "\ti2t_r1\ti2t_r5\ti2t_r10\tt2i_r1\tt2i_r5\tt2i_r10\trsum\tseconds\n");
    fflush(t->log);
}

typedef struct {
    double loss, loss_spike, loss_float, loss_ff, loss_uf, loss_fu, grad_norm;
    long steps;
} epoch_stats;

static void log_epoch(trainer *t, long epoch, float lr, const epoch_stats *s,
                      const snn_metrics *mt, double seconds)
{
    snn_model *m = t->model;
    double n = s->steps ? (double)s->steps : 1.0, spikes = 0, count = 0;
    for (int i = 0; i < m->n_lifs; i++) {
        spikes += m->lifs[i].spikes;
        count += m->lifs[i].count;
    }
    double rate = count > 0 ? spikes / count : 0;
    if (m->cfg.fusion)
        cli_info("epoch %ld: loss %.4f (spike %.4f, float %.4f, ff %.4f, uf %.4f, fu %.4f), "
                 "lr %.3g, firing rate %.3f, "
                 "val rSum %.1f, %.1fs", epoch, s->loss / n, s->loss_spike / n,
                 s->loss_float / n, s->loss_ff / n, s->loss_uf / n, s->loss_fu / n, (double)lr,
                 rate, t->has_val ? mt->rsum : NAN, seconds);
    else
        cli_info("epoch %ld: loss %.4f (spike %.4f, float %.4f), lr %.3g, firing rate %.3f, "
                 "val rSum %.1f, %.1fs", epoch, s->loss / n, s->loss_spike / n,
                 s->loss_float / n, (double)lr, rate, t->has_val ? mt->rsum : NAN, seconds);
    if (!t->log)
        return;
    fprintf(t->log, "%ld\t%ld\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.4f\t%.5f", epoch,
            s->steps, (double)lr, s->loss / n, s->loss_spike / n, s->loss_float / n,
            s->loss_ff / n, s->loss_uf / n, s->loss_fu / n, s->grad_norm / n, rate);
    for (int i = 0; i < m->n_lifs; i++)
        fprintf(t->log, "\t%.5f", m->lifs[i].count > 0 ? m->lifs[i].spikes / m->lifs[i].count
                                                       : 0.0);
    if (t->has_val)
        fprintf(t->log, "\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f", mt->i2t.r1, mt->i2t.r5,
                mt->i2t.r10, mt->t2i.r1, mt->t2i.r5, mt->t2i.r10, mt->rsum);
    else
        fprintf(t->log, "\tNA\tNA\tNA\tNA\tNA\tNA\tNA");
    fprintf(t->log, "\t%.1f\n", seconds);
    fflush(t->log);
}

/* Copies a (3,S,S) image shifted by (dx, dy) pixels; uncovered pixels become the
 * normalised value of white, the background the decoder composites onto. */
static void shift_image(float *dst, const float *src, const snn_config *c, int dx, int dy)
{
    int S = c->image_size;
    for (int ch = 0; ch < 3; ch++) {
        float white = (1.0f - c->img_mean[ch]) / c->img_std[ch];
        for (int y = 0; y < S; y++) {
            for (int x = 0; x < S; x++) {
                int sx = x - dx, sy = y - dy;
                int inside = sx >= 0 && sx < S && sy >= 0 && sy < S;
                dst[(ch * S + y) * S + x] = inside ? src[(ch * S + sy) * S + sx] : white;
            }
        }
    }
}

/* Gathers a batch's pixels and caption tokens into contiguous buffers; with
 * shift > 0 each image moves by a random offset in [-shift, shift] per axis. */
static void gather(const snn_pairs *p, const snn_config *c, const int *caps, const int *imgs,
                   int B, int shift, snn_rng *rng, float *pixels, int *ids, int *off)
{
    size_t img_floats = (size_t)3 * c->image_size * c->image_size;
    off[0] = 0;
    for (int b = 0; b < B; b++) {
        const float *src = p->pixels + (size_t)imgs[b] * img_floats;
        int dx = 0, dy = 0;
        if (shift > 0) {
            dx = (int)snn_rng_below(rng, (uint64_t)(2 * shift + 1)) - shift;
            dy = (int)snn_rng_below(rng, (uint64_t)(2 * shift + 1)) - shift;
        }
        shift_image(pixels + b * img_floats, src, c, dx, dy);
        int start = p->cap_off[caps[b]], len = p->cap_off[caps[b] + 1] - start;
        memcpy(ids + off[b], p->cap_ids + start, (size_t)len * sizeof(int));
        off[b + 1] = off[b] + len;
    }
}

/* Trains for one epoch, or with calibrate set only runs the forward passes so the
 * BatchNorm running statistics become the average over the epoch's batches. */
static void run_epoch(trainer *t, long epoch, float lr, int calibrate, epoch_stats *s)
{
    const train_options *o = &t->o;
    snn_model *m = t->model;
    const snn_config *c = &m->cfg;
    const snn_pairs *p = &t->train;
    int B = o->batch;
    size_t img_floats = (size_t)3 * c->image_size * c->image_size;
    float *pixels = snn_alloc((size_t)B, img_floats * sizeof(float));
    int *ids = snn_alloc((size_t)B, (size_t)c->max_len * sizeof(int));
    int *off = malloc(((size_t)B + 1) * sizeof(int)), *caps = malloc((size_t)B * sizeof(int));
    int *imgs = malloc((size_t)B * sizeof(int));
    batch_iter it;
    if (!pixels || !ids || !off || !caps || !imgs || batches_start(&it, p, o->seed, epoch)) {
        cli_error("out of memory for a batch of %d", B);
        exit(CLI_FAILED);
    }

    float momentum = m->cfg.bn_momentum;
    snn_train_params tp = {.lr = lr, .weight_decay = o->weight_decay, .clip = o->clip,
                           .w_spike = 1.0f, .w_float = o->float_weight,
                           .w_fusion = m->cfg.fusion ? o->fusion_weight : 0.0f};
    snn_arena ar = {0};
    cli_progress bar;
    char label[32];
    snprintf(label, sizeof label, "epoch %ld", epoch);
    cli_progress_start(&bar, label, (uint64_t)p->n_caps);
    memset(s, 0, sizeof *s);
    int n;
    while ((n = batches_next(&it, p, B, caps, imgs)) > 0) {
        if (n < 2)
            break; /* a contrastive batch needs a negative */
        gather(p, c, caps, imgs, n, calibrate ? 0 : o->shift, &it.rng, pixels, ids, off);
        snn_train_stats st = {0};
        snn_error err;
        int rc;
        if (calibrate) {
            m->cfg.bn_momentum = 1.0f / (float)(s->steps + 1); /* a running average */
            rc = snn_calibrate_step(m, pixels, ids, off, n, &ar, &err);
        } else {
            rc = snn_train_step(m, pixels, ids, off, n, &tp, &st, &ar, &err);
        }
        if (rc) {
            cli_progress_end(&bar);
            cli_die(&err);
        }
        snn_arena_reset(&ar);
        s->loss += st.loss;
        s->loss_spike += st.loss_spike;
        s->loss_float += st.loss_float;
        s->loss_ff += st.loss_ff;
        s->loss_uf += st.loss_uf;
        s->loss_fu += st.loss_fu;
        s->grad_norm += st.grad_norm;
        s->steps++;
        cli_progress_update(&bar, (uint64_t)it.next);
    }
    cli_progress_end(&bar);
    if (calibrate)
        m->cfg.bn_momentum = momentum;
    snn_arena_free(&ar);
    batches_free(&it);
    free(pixels);
    free(ids);
    free(off);
    free(caps);
    free(imgs);
}

static void save(trainer *t, const char *path, int with_optimizer)
{
    snn_error err;
    char rsum[32], epoch[32];
    snprintf(rsum, sizeof rsum, "%.17g", t->best_rsum);
    snprintf(epoch, sizeof epoch, "%ld", t->best_epoch);
    const char *meta[] = {"best_val_rsum", rsum, "best_epoch", epoch};
    if (snn_model_save(t->model, path, with_optimizer, meta, t->keep_best ? 4 : 0, &err))
        cli_die(&err);
}

/* Reads back the best validation score that a checkpoint recorded. */
static void resume_best(trainer *t)
{
    snn_st_file *f;
    snn_error err;
    if (!t->o.resume || !t->keep_best || snn_st_read(&f, t->o.resume, &err))
        return;
    const char *rsum = snn_st_meta_get(f, "best_val_rsum");
    const char *epoch = snn_st_meta_get(f, "best_epoch");
    if (rsum && epoch) {
        t->best_rsum = strtod(rsum, NULL);
        t->best_epoch = strtol(epoch, NULL, 10);
    }
    snn_st_free(f);
}

/* Keeps the model of the best validation epoch in the output file. */
static void keep_if_best(trainer *t, long epoch, const snn_metrics *mt)
{
    if (!t->keep_best || mt->rsum <= t->best_rsum)
        return;
    t->best_rsum = mt->rsum;
    t->best_epoch = epoch;
    save(t, t->o.output, 0);
}

static void open_log(trainer *t)
{
    const char *path = t->o.log;
    if (!path)
        return;
    if (strcmp(path, "-") == 0) {
        t->log = stdout;
        return;
    }
    /* A resumed run appends to the log it continues. */
    t->log = fopen(path, t->o.resume ? "a" : "w");
    if (!t->log) {
        cli_error("cannot open the log %s: %m", path);
        exit(CLI_FAILED);
    }
}

/* Scores the model written to -o on another split, in process, and prints the
 * metrics as one JSON line on stderr. */
static void report_test(trainer *t)
{
    snn_error err;
    snn_model *m;
    snn_pairs test;
    snn_metrics mt;
    if (snn_model_load(&m, t->o.output, &err))
        cli_die(&err);
    if (snn_pairs_load(&test, t->dataset, t->o.test_split, t->vocab, &m->cfg, &err)) {
        snn_fail_prefix(&err, "%s: split \"%s\"", t->o.dataset, t->o.test_split);
        cli_die(&err);
    }
    if (snn_evaluate(m, &test, &mt, &err))
        cli_die(&err);
    fprintf(stderr, "{\"split\": \"%s\", \"i2t\": {\"r1\": %.2f, \"r5\": %.2f, \"r10\": %.2f}, "
            "\"t2i\": {\"r1\": %.2f, \"r5\": %.2f, \"r10\": %.2f}, \"rsum\": %.2f}\n",
            t->o.test_split, mt.i2t.r1, mt.i2t.r5, mt.i2t.r10, mt.t2i.r1, mt.t2i.r5, mt.t2i.r10,
            mt.rsum);
    snn_pairs_free(&test);
    snn_model_free(m);
}

/* Fails before any training when an output path could not take a model file. */
static void check_output_path(const char *path, const char *what)
{
    struct stat st;
    if (path && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        cli_error("%s: not a regular file: give a file path for the %s", path, what);
        exit(CLI_FAILED);
    }
}

int main(int argc, char **argv)
{
    cli_init(argc, argv);
    trainer t = {0};
    train_parse_options(&t.o, argc, argv);
    check_output_path(t.o.output, "model");
    check_output_path(t.o.checkpoint, "checkpoint");
    cli_set_threads(t.o.threads);
    make_model(&t);
    load_data(&t);
    open_log(&t);
    if (!t.o.resume || !t.log || t.log == stdout)
        log_header(&t);

    t.keep_best = t.has_val && strcmp(t.o.select, "best") == 0;
    t.best_rsum = -1.0;
    resume_best(&t);

    const char *ckpt = t.o.checkpoint;
    if (!ckpt) {
        t.checkpoint = malloc(strlen(t.o.output) + 6);
        sprintf(t.checkpoint, "%s.ckpt", t.o.output);
        ckpt = t.checkpoint;
    }

    for (long epoch = t.model->epoch + 1; epoch <= t.o.epochs; epoch++) {
        float lr = t.o.lr * powf(t.o.lr_gamma, (float)((epoch - 1) / t.o.lr_step));
        double started = cli_now();
        epoch_stats s;
        snn_model_reset_rates(t.model);
        run_epoch(&t, epoch, lr, 0, &s);

        snn_metrics mt = {0};
        snn_error err;
        if (t.has_val && snn_evaluate(t.model, &t.val, &mt, &err))
            cli_die(&err);
        t.model->epoch = epoch;
        keep_if_best(&t, epoch, &mt);
        save(&t, ckpt, 1);
        log_epoch(&t, epoch, lr, &s, &mt, cli_now() - started);
    }
    if (t.o.epochs == 0 && !t.o.resume) {
        /* Untrained weights with inference statistics of the initial ones, so the
         * model is a fair random baseline rather than one whose BatchNorm layers
         * still hold their initial mean 0 and variance 1. */
        epoch_stats s;
        run_epoch(&t, 0, 0.0f, 1, &s);
        cli_info("calibrated BatchNorm statistics on %ld batches; weights untrained", s.steps);
    }
    struct stat st;
    if (t.keep_best && t.best_epoch > 0 && stat(t.o.output, &st) == 0) {
        cli_info("wrote %s: epoch %ld, the best validation rSum (%.2f)", t.o.output,
                 t.best_epoch, t.best_rsum);
    } else {
        if (t.keep_best && t.best_epoch > 0)
            cli_error("warning: %s did not exist, so it gets the last epoch; the best "
                      "validation epoch %ld is in the output of the run that was resumed",
                      t.o.output, t.best_epoch);
        save(&t, t.o.output, 0);
        cli_info("wrote %s", t.o.output);
    }

    if (t.o.test_split)
        report_test(&t);

    if (t.log && t.log != stdout && fclose(t.log) != 0) {
        cli_error("write failed: %s", t.o.log);
        return CLI_FAILED;
    }
    snn_pairs_free(&t.train);
    snn_pairs_free(&t.val);
    snn_dataset_free(t.dataset);
    snn_vocab_free(t.vocab);
    snn_model_free(t.model);
    free(t.checkpoint);
    return cli_finish(CLI_OK);
}
