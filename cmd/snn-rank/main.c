/* snn-rank: scores image-text retrieval between the image and text spike streams
 * of one model (R@K, median and mean rank), and writes top-k candidate lists. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "report.h"
#include "rerank.h"
#include "scores.h"
#include "sets.h"
#include "similarity.h"

/* Images per similarity call in fine mode: small enough for a smooth progress
 * bar, large enough to keep the sgemm calls efficient. */
#define RANK_BLOCK_IMAGES 64

static void check_same_model(const rank_sets *img, const rank_sets *txt)
{
    if (txt->info.model_fingerprint != img->info.model_fingerprint) {
        cli_error("%s: written by another model (fingerprint %016" PRIx64 ", images have %016"
                  PRIx64 "): encode both with the same model", txt->name,
                  txt->info.model_fingerprint, img->info.model_fingerprint);
        exit(CLI_FAILED);
    }
    if (txt->info.dim != img->info.dim) {
        cli_error("%s: embedding size %" PRIu32 " differs from the images' %" PRIu32 ": encode "
                  "both with the same model", txt->name, txt->info.dim, img->info.dim);
        exit(CLI_FAILED);
    }
}

/* Reads both streams and keeps the images and captions that share a key. With
 * --rerank, reads the fused scores in between, so that a score of a record
 * that --allow-unmatched drops is ignored rather than reported as unknown. */
static void load(rank_sets *img, rank_sets *txt, rank_scores *fused, const rank_options *o)
{
    snn_error err;
    if (rank_sets_open(img, o->images, SNN_STREAM_IMAGE, &err)
        || rank_sets_open(txt, o->captions, SNN_STREAM_TEXT, &err))
        cli_die(&err);
    check_same_model(img, txt);

    if (rank_sets_read(img, &err) || rank_sets_read(txt, &err))
        cli_die(&err);
    cli_debug("%s: %zu images, %d token rows", img->name, img->count, img->off[img->count]);
    cli_debug("%s: %zu captions, %d token rows", txt->name, txt->count, txt->off[txt->count]);
    if (o->rerank && rank_scores_read(fused, o->rerank, img, txt, &err))
        cli_die(&err);

    size_t dropped_img, dropped_txt;
    if (rank_match_keys(img, txt, o->allow_unmatched, &dropped_img, &dropped_txt, &err))
        cli_die(&err);
    if (dropped_img || dropped_txt)
        cli_info("dropped records without a match (--allow-unmatched): %zu images, %zu captions",
                 dropped_img, dropped_txt);
    if (img->count == 0) {
        cli_error("%s, %s: no image and caption share a key: nothing to rank", img->name,
                  txt->name);
        exit(CLI_FAILED);
    }
    if (o->rerank) {
        rank_scores_index(fused, img, txt);
        cli_debug("%s: %zu fused scores of ranked pairs", fused->name, fused->count);
    }
}

/* Returns sim (images, captions), computed a block of images at a time. */
static float *similarity_matrix(const rank_sets *img, const rank_sets *txt, const rank_options *o)
{
    size_t Ni = img->count, Nt = txt->count;
    float *sim = Ni <= SIZE_MAX / Nt ? snn_alloc(Ni * Nt, sizeof *sim) : NULL;
    if (!sim) {
        cli_error("cannot allocate the %zu x %zu similarity matrix (%.1f GiB): rank fewer "
                  "images or captions at a time", Ni, Nt, (double)Ni * Nt * 4 / (1 << 30));
        exit(CLI_FAILED);
    }

    snn_sim_params p = {o->mode, (float)o->temperature};
    size_t block = o->mode == SNN_SIM_FINE ? RANK_BLOCK_IMAGES : Ni;
    cli_progress progress;
    cli_progress_start(&progress, "ranking", Ni);
    double started = cli_now();
    for (size_t i0 = 0; i0 < Ni; i0 += block) {
        size_t n = Ni - i0 < block ? Ni - i0 : block;
        snn_error err;
        if (snn_sim_forward(sim + i0 * Nt, NULL, img->rows, img->off + i0, (int)n, txt->rows,
                            txt->off, (int)Nt, (int)img->info.dim, &p, &err))
            cli_die(&err);
        cli_progress_update(&progress, i0 + n);
    }
    cli_progress_end(&progress);
    cli_debug("similarity of %zu x %zu sets: %.3f s", Ni, Nt, cli_now() - started);
    return sim;
}

static void write_metrics(cli_output *out, const snn_metrics *m, const rank_options *o)
{
    if (o->json ? rank_print_json(out->fp, m, o) : (rank_print_table(out->fp, m, o), 0)) {
        cli_error("out of memory while formatting the metrics as JSON");
        exit(CLI_FAILED);
    }
}

static void write_topk(cli_output *out, const rank_topk_source *src, const rank_sets *img,
                       const rank_sets *txt, const rank_options *o)
{
    if (rank_write_topk(out->fp, src, img, txt, o->k)) {
        cli_error("out of memory while writing the top-k lists");
        exit(CLI_FAILED);
    }
}

/* Re-ranks sim for image-to-text in place and a copy of it for text-to-image,
 * and scores each direction on its own matrix. Returns the copy. */
static float *rerank(snn_metrics *m, float *sim, const rank_sets *img, const rank_sets *txt,
                     const rank_scores *fused, const rank_options *o)
{
    size_t Ni = img->count, Nt = txt->count;
    float *t2i = snn_alloc(Ni * Nt, sizeof *t2i);
    if (!t2i) {
        cli_error("cannot allocate a second %zu x %zu similarity matrix (%.1f GiB) for "
                  "--rerank: rank fewer images or captions at a time", Ni, Nt,
                  (double)Ni * Nt * 4 / (1 << 30));
        exit(CLI_FAILED);
    }
    memcpy(t2i, sim, Ni * Nt * sizeof *t2i);

    snn_error err;
    snn_metrics t2i_metrics;
    if (rank_rerank(sim, RANK_I2T, img, txt, fused, o->rerank_depth, &err)
        || rank_rerank(t2i, RANK_T2I, img, txt, fused, o->rerank_depth, &err)
        || snn_metrics_compute(m, sim, Ni, Nt, img->key_id, txt->key_id, &err)
        || snn_metrics_compute(&t2i_metrics, t2i, Ni, Nt, img->key_id, txt->key_id, &err))
        cli_die(&err);

    m->t2i = t2i_metrics.t2i;
    m->rsum = m->i2t.r1 + m->i2t.r5 + m->i2t.r10 + m->t2i.r1 + m->t2i.r5 + m->t2i.r10;
    return t2i;
}

int main(int argc, char **argv)
{
    cli_init(argc, argv);
    rank_options o;
    rank_parse_options(&o, argc, argv);
    cli_set_threads(o.threads);

    /* Both outputs are opened first, so an unwritable path fails before the
     * ranking and nothing is written unless everything is. */
    cli_output metrics_out, topk_out;
    cli_output_open(&metrics_out, o.output, 0);
    if (o.topk)
        cli_output_open(&topk_out, o.topk, 0);

    rank_sets img, txt;
    rank_scores fused = {0};
    load(&img, &txt, &fused, &o);
    float *sim = similarity_matrix(&img, &txt, &o);

    snn_metrics m;
    snn_error err;
    float *t2i = NULL;
    if (o.rerank)
        t2i = rerank(&m, sim, &img, &txt, &fused, &o);
    else if (snn_metrics_compute(&m, sim, img.count, txt.count, img.key_id, txt.key_id, &err))
        cli_die(&err);
    write_metrics(&metrics_out, &m, &o);
    if (o.topk) {
        rank_topk_source src = {sim, t2i ? t2i : sim, o.rerank ? &fused : NULL, o.rerank_depth};
        write_topk(&topk_out, &src, &img, &txt, &o);
    }
    cli_output_commit(&metrics_out);
    if (o.topk)
        cli_output_commit(&topk_out);

    free(sim);
    free(t2i);
    rank_scores_free(&fused);
    rank_sets_free(&img);
    rank_sets_free(&txt);
    return cli_finish(CLI_OK);
}
