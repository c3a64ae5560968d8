#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "similarity.h"
#include "tsv.h"

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    if (!(p = realloc(p, n * size))) {
        cli_error("out of memory for a batch (%zu bytes)", n * size);
        exit(CLI_FAILED);
    }
    *cap = n;
    return p;
}

static void side_init(fuse_side *s, int capacity)
{
    memset(s, 0, sizeof *s);
    s->ids = calloc((size_t)capacity, sizeof *s->ids);
    s->off = calloc((size_t)capacity + 1, sizeof *s->off);
    if (!s->ids || !s->off) {
        cli_error("out of memory for a batch of %d pairs", capacity);
        exit(CLI_FAILED);
    }
}

static void side_add(fuse_side *s, int b, const fuse_item *it, int T, int D)
{
    size_t rows = (size_t)s->off[b], n = it->n;
    s->values = grow(s->values, &s->values_cap, (size_t)T * (rows + n) * D, 1);
    s->feats = grow(s->feats, &s->feats_cap, (rows + n) * D, sizeof(float));
    memcpy(s->values + (size_t)T * rows * D, it->values, (size_t)T * n * D);
    memcpy(s->feats + rows * D, it->feats, n * D * sizeof(float));
    if (!(s->ids[b] = strdup(it->id))) {
        cli_error("out of memory");
        exit(CLI_FAILED);
    }
    s->off[b + 1] = (int)(rows + n);
}

void fuse_batch_init(fuse_batch *b, snn_model *m, int capacity)
{
    memset(b, 0, sizeof *b);
    b->m = m;
    b->capacity = capacity;
    side_init(&b->img, capacity);
    side_init(&b->txt, capacity);
}

void fuse_batch_add(fuse_batch *b, const fuse_item *img, const fuse_item *txt)
{
    int T = b->m->cfg.time_steps, D = b->m->cfg.dim;
    side_add(&b->img, b->B, img, T, D);
    side_add(&b->txt, b->B, txt, T, D);
    if (++b->B == b->capacity)
        fuse_batch_flush(b);
}

/* An encoder output rebuilt from a side's records: the spike values regrouped
 * time step first, (T,N,D), as the encoders leave them. */
static int side_output(snn_enc_out *out, const fuse_side *s, int B, int T, int D,
                       snn_arena *ar)
{
    size_t N = (size_t)s->off[B];
    memset(out, 0, sizeof *out);
    out->B = B;
    out->N = N;
    out->off = s->off;
    out->feat_raw = s->feats;
    ARENA_TAKE(out->spikes, ar, (size_t)T * N * D);
    for (int b = 0; b < B; b++) {
        size_t row = (size_t)s->off[b], n = (size_t)(s->off[b + 1] - s->off[b]);
        const uint8_t *src = s->values + (size_t)T * row * D;
        for (int t = 0; t < T; t++) {
            float *dst = out->spikes + ((size_t)t * N + row) * D;
            for (size_t i = 0; i < n * D; i++)
                dst[i] = src[(size_t)t * n * D + i];
        }
    }
    return SNN_OK;
}

/* One TSV line per pair: the fine similarity of its fused image and fused
 * caption, the score the fused-against-fused training term raises for true pairs. */
static void write_scores(fuse_batch *b, const snn_fuse_out *fi, const snn_fuse_out *ft)
{
    int D = b->m->cfg.dim;
    snn_sim_params p = {SNN_SIM_FINE, b->m->cfg.sim_temperature};
    for (int k = 0; k < b->B; k++) {
        int oi[2] = {0, fi->off[k + 1] - fi->off[k]}, ot[2] = {0, ft->off[k + 1] - ft->off[k]};
        float score;
        snn_error err;
        if (snn_sim_forward(&score, NULL, fi->emb + (size_t)fi->off[k] * D, oi, 1,
                            ft->emb + (size_t)ft->off[k] * D, ot, 1, D, &p, &err))
            cli_die(&err);
        tsv_put_field(b->tsv, b->img.ids[k]);
        fputc('\t', b->tsv);
        tsv_put_field(b->tsv, b->txt.ids[k]);
        fprintf(b->tsv, "\t%.6g\n", (double)score);
    }
}

static void write_record(fuse_batch *b, const char *id, const char *key,
                         const snn_fuse_out *f, int k)
{
    int D = b->m->cfg.dim;
    snn_record rec = {.id = id, .key = key, .n = (uint32_t)(f->off[k + 1] - f->off[k]),
                      .floats = f->emb + (size_t)f->off[k] * D};
    snn_error err;
    if (snn_stream_write(b->writer, &rec, &err)) {
        snn_fail_prefix(&err, "%s", b->out_name);
        cli_die(&err);
    }
}

/* Writes per pair the fused image (id: the image's, key: the caption's), then
 * the fused caption (id: the caption's, key: the image's), as b->side selects. */
static void write_fused(fuse_batch *b, const snn_fuse_out *fi, const snn_fuse_out *ft)
{
    for (int k = 0; k < b->B; k++) {
        if (b->side & FUSE_SIDE_IMAGE)
            write_record(b, b->img.ids[k], b->txt.ids[k], fi, k);
        if (b->side & FUSE_SIDE_CAPTION)
            write_record(b, b->txt.ids[k], b->img.ids[k], ft, k);
    }
}

void fuse_batch_flush(fuse_batch *b)
{
    if (b->B == 0)
        return;
    snn_model *m = b->m;
    int T = m->cfg.time_steps, D = m->cfg.dim;
    snn_enc_out io, to;
    snn_fuse_out fi, ft;
    snn_error err;
    if (side_output(&io, &b->img, b->B, T, D, &b->arena)
        || side_output(&to, &b->txt, b->B, T, D, &b->arena)) {
        cli_error("out of memory fusing a batch of %d pairs", b->B);
        exit(CLI_FAILED);
    }
    if (snn_fuse_forward(m, &m->fuse_img, &fi, &io, &to, 0, &b->arena, &err)
        || snn_fuse_forward(m, &m->fuse_txt, &ft, &to, &io, 0, &b->arena, &err))
        cli_die(&err);

    if (b->tsv)
        write_scores(b, &fi, &ft);
    else
        write_fused(b, &fi, &ft);

    b->pairs_done += (uint64_t)b->B;
    for (int k = 0; k < b->B; k++) {
        free(b->img.ids[k]);
        free(b->txt.ids[k]);
    }
    b->B = 0;
    snn_arena_reset(&b->arena);
}

static void side_free(fuse_side *s)
{
    free(s->ids);
    free(s->off);
    free(s->values);
    free(s->feats);
}

void fuse_batch_free(fuse_batch *b)
{
    side_free(&b->img);
    side_free(&b->txt);
    snn_arena_free(&b->arena);
}

void fuse_stream_info(snn_stream_info *info, const snn_model *m)
{
    memset(info, 0, sizeof *info);
    info->kind = SNN_STREAM_FUSED;
    info->model_fingerprint = m->fingerprint;
    info->dim = (uint32_t)m->cfg.dim;
}
