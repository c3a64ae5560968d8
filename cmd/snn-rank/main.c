/* snn-rank: scores image-text retrieval between the image and text spike streams
 * of one model (R@K, median and mean rank), and writes top-k candidate lists. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "options.h"
#include "report.h"
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

/* Reads both streams and keeps the images and captions that share a key. */
static void load(rank_sets *img, rank_sets *txt, const rank_options *o)
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

static void write_topk(cli_output *out, const float *sim, const rank_sets *img,
                       const rank_sets *txt, const rank_options *o)
{
    if (rank_write_topk(out->fp, sim, img, txt, o->k)) {
        cli_error("out of memory while writing the top-k lists");
        exit(CLI_FAILED);
    }
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
    load(&img, &txt, &o);
    float *sim = similarity_matrix(&img, &txt, &o);

    snn_metrics m;
    snn_error err;
    if (snn_metrics_compute(&m, sim, img.count, txt.count, img.key_id, txt.key_id, &err))
        cli_die(&err);
    write_metrics(&metrics_out, &m, &o);
    if (o.topk)
        write_topk(&topk_out, sim, &img, &txt, &o);
    cli_output_commit(&metrics_out);
    if (o.topk)
        cli_output_commit(&topk_out);

    free(sim);
    rank_sets_free(&img);
    rank_sets_free(&txt);
    return cli_finish(CLI_OK);
}
