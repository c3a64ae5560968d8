#include "items.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *encoder_of(uint32_t modality)
{
    return modality == SNN_STREAM_IMAGE ? "snn-encode-img" : "snn-encode-txt";
}

static void check_header(const fuse_items *s, uint32_t modality, uint64_t fingerprint,
                         const char *model_path)
{
    uint32_t kind = s->info.kind;
    if (snn_stream_modality(kind) != modality) {
        cli_error("%s: a stream of %s, expected %s: write it with %s --features", s->name,
                  snn_stream_kind_name(kind), snn_stream_kind_name(modality),
                  encoder_of(modality));
        exit(CLI_FAILED);
    }
    if (!snn_stream_has_features(kind)) {
        cli_error("%s: %s without the float features that fusion adds back: encode again "
                  "with %s --features", s->name, snn_stream_kind_name(kind),
                  encoder_of(modality));
        exit(CLI_FAILED);
    }
    if (s->info.model_fingerprint != fingerprint) {
        cli_error("%s: written by another model (fingerprint %016" PRIx64 ", %s has %016"
                  PRIx64 "): encode with the model given to -m", s->name,
                  s->info.model_fingerprint, model_path, fingerprint);
        exit(CLI_FAILED);
    }
}

void fuse_items_open(fuse_items *s, const char *path, uint32_t modality, uint64_t fingerprint,
                     const char *model_path)
{
    memset(s, 0, sizeof *s);
    s->name = strcmp(path, "-") == 0 ? "standard input" : path;
    s->fp = cli_open_input(path);
    snn_error err;
    if (!(s->reader = snn_stream_reader_open(s->fp, s->name, &err)))
        cli_die(&err);
    s->info = *snn_stream_reader_info(s->reader);
    check_header(s, modality, fingerprint, model_path);
}

int fuse_items_next(fuse_items *s, fuse_item *it)
{
    snn_record rec;
    snn_error err;
    int rc = snn_stream_read(s->reader, &rec, &err);
    if (rc == SNN_EOF)
        return 0;
    if (rc != SNN_OK)
        cli_die(&err);
    s->record++;
    if (rec.n == 0) {
        cli_error("%s: record %" PRIu64 " (%s): no token rows: fusion needs at least one",
                  s->name, s->record, rec.id);
        exit(CLI_FAILED);
    }
    *it = (fuse_item){rec.id, rec.key, rec.n, rec.values, rec.floats};
    return 1;
}

static void *copy_or_die(const void *src, size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        cli_error("out of memory holding a stream (%zu bytes more)", size);
        exit(CLI_FAILED);
    }
    memcpy(p, src, size);
    return p;
}

static void hold(fuse_items *s, const fuse_item *it)
{
    if (s->count == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->items = realloc(s->items, s->cap * sizeof *s->items);
        if (!s->items) {
            cli_error("out of memory holding %zu records of %s", s->count, s->name);
            exit(CLI_FAILED);
        }
    }
    size_t rows = it->n, D = s->info.dim;
    s->items[s->count++] = (fuse_item){
        copy_or_die(it->id, strlen(it->id) + 1),
        copy_or_die(it->key, strlen(it->key) + 1),
        it->n,
        copy_or_die(it->values, s->info.time_steps * rows * D),
        copy_or_die(it->feats, rows * D * sizeof(float)),
    };
}

void fuse_items_load(fuse_items *s)
{
    fuse_item it;
    while (fuse_items_next(s, &it))
        hold(s, &it);
    if (snn_strmap_init(&s->index)) {
        cli_error("out of memory indexing %s", s->name);
        exit(CLI_FAILED);
    }
    for (size_t k = 0; k < s->count; k++) {
        const char *id = s->items[k].id;
        long seen = snn_strmap_get(&s->index, id, strlen(id));
        if (seen >= 0) {
            cli_error("%s: records %ld and %zu have the same id '%s': ids must be unique",
                      s->name, seen + 1, k + 1, id);
            exit(CLI_FAILED);
        }
        if (snn_strmap_put(&s->index, id, (uint32_t)k)) {
            cli_error("out of memory indexing %s", s->name);
            exit(CLI_FAILED);
        }
    }
}

const fuse_item *fuse_items_find(const fuse_items *s, const char *id)
{
    long k = snn_strmap_get(&s->index, id, strlen(id));
    return k < 0 ? NULL : &s->items[k];
}

void fuse_items_close(fuse_items *s)
{
    for (size_t k = 0; k < s->count; k++) {
        free((void *)s->items[k].id);
        free((void *)s->items[k].key);
        free((void *)s->items[k].values);
        free((void *)s->items[k].feats);
    }
    free(s->items);
    snn_strmap_free(&s->index); /* zeroed by open when never built: nothing to free */
    snn_stream_reader_close(s->reader);
    if (s->fp != stdin)
        fclose(s->fp);
}
