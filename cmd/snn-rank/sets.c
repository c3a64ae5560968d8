/* Reading a spike stream into token sets. */
#include "sets.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "similarity.h"

/* The program that writes each kind of stream snn-rank reads, for messages. */
static const char *producer(uint32_t kind)
{
    return kind == SNN_STREAM_IMAGE ? "snn-encode-img" : "snn-encode-txt";
}

int rank_sets_open(rank_sets *s, const char *path, uint32_t kind, snn_error *err)
{
    memset(s, 0, sizeof *s);
    int from_stdin = strcmp(path, "-") == 0;
    s->name = from_stdin ? "standard input" : path;
    s->fp = from_stdin ? stdin : fopen(path, "rb");
    if (!s->fp)
        return snn_fail(err, SNN_EIO, "%s: cannot open: %s", path, strerror(errno));

    if (!(s->reader = snn_stream_reader_open(s->fp, s->name, err)))
        return err->code;
    s->info = *snn_stream_reader_info(s->reader);
    /* Streams with features (snn-encode-* --features, for snn-fuse) carry the
     * same spikes, so one encoding serves both programs. */
    if (snn_stream_modality(s->info.kind) != kind)
        return snn_fail(err, SNN_EFORMAT, "%s: is a stream of %s, expected %s: pass the output "
                        "of %s", s->name, snn_stream_kind_name(s->info.kind),
                        snn_stream_kind_name(kind), producer(kind));

    if (!(s->off = snn_alloc(1, sizeof *s->off)))
        return snn_fail(err, SNN_ENOMEM, "out of memory");
    s->off[0] = 0;
    return SNN_OK;
}

/* Resizes the array at *array to count items of size bytes; -1 when out of memory. */
static int resize(void *array, size_t count, size_t size)
{
    void **p = array;
    void *grown = count <= SIZE_MAX / size ? realloc(*p, count * size) : NULL;
    if (!grown)
        return -1;
    *p = grown;
    return 0;
}

/* Makes room for one more set of n rows. */
static int reserve(rank_sets *s, uint32_t n, snn_error *err)
{
    size_t rows = (size_t)s->off[s->count] + n, D = s->info.dim;
    if (s->count + 1 >= INT_MAX || rows > INT_MAX)
        return snn_fail(err, SNN_ENOMEM, "%s: more than %d records or token rows: rank a "
                        "subset at a time", s->name, INT_MAX);

    if (s->count == s->set_cap) {
        size_t cap = s->set_cap ? 2 * s->set_cap : 1024;
        if (resize(&s->ids, cap, sizeof *s->ids) || resize(&s->keys, cap, sizeof *s->keys)
            || resize(&s->record, cap, sizeof *s->record)
            || resize(&s->off, cap + 1, sizeof *s->off))
            return snn_fail(err, SNN_ENOMEM, "%s: out of memory for %zu records", s->name, cap);
        s->set_cap = cap;
    }

    if (rows > s->row_cap) {
        size_t cap = s->row_cap ? s->row_cap : 65536;
        while (cap < rows)
            cap *= 2;
        if (resize(&s->rows, cap, D * sizeof *s->rows))
            return snn_fail(err, SNN_ENOMEM, "%s: out of memory for %zu token embeddings of "
                            "size %zu", s->name, cap, D);
        s->row_cap = cap;
    }
    return SNN_OK;
}

static int append(rank_sets *s, const snn_record *rec, size_t number, snn_error *err)
{
    if (rec->n == 0)
        return snn_fail(err, SNN_EFORMAT, "%s: record %zu (id '%s'): no token rows: every "
                        "image and caption needs at least one token", s->name, number, rec->id);
    int rc = reserve(s, rec->n, err);
    if (rc)
        return rc;

    size_t k = s->count;
    s->ids[k] = strdup(rec->id);
    s->keys[k] = strdup(rec->key ? rec->key : "");
    if (!s->ids[k] || !s->keys[k]) {
        free(s->ids[k]);
        free(s->keys[k]);
        return snn_fail(err, SNN_ENOMEM, "%s: out of memory for record ids", s->name);
    }
    s->record[k] = number;

    float *out = s->rows + (size_t)s->off[k] * s->info.dim;
    rc = snn_embed_spikes(out, rec->values, (int)s->info.time_steps, (int)rec->n,
                          (int)s->info.dim, s->info.readout);
    if (rc)
        return snn_fail(err, rc, "%s: record %zu: invalid spike shape", s->name, number);
    s->off[k + 1] = s->off[k] + (int)rec->n;
    s->count++;
    return SNN_OK;
}

typedef struct {
    const char *text;
    size_t index;
} named_index;

static int compare_named(const void *a, const void *b)
{
    const named_index *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int check_unique_ids(const rank_sets *s, snn_error *err)
{
    named_index *sorted = snn_alloc(s->count, sizeof *sorted);
    if (!sorted)
        return snn_fail(err, SNN_ENOMEM, "%s: out of memory for checking ids", s->name);
    for (size_t k = 0; k < s->count; k++)
        sorted[k] = (named_index){s->ids[k], k};
    qsort(sorted, s->count, sizeof *sorted, compare_named);

    int rc = SNN_OK;
    for (size_t k = 1; k < s->count && !rc; k++)
        if (strcmp(sorted[k - 1].text, sorted[k].text) == 0)
            rc = snn_fail(err, SNN_EFORMAT, "%s: records %zu and %zu have the same id '%s': "
                          "ids must be unique within a stream", s->name,
                          s->record[sorted[k - 1].index], s->record[sorted[k].index],
                          sorted[k].text);
    free(sorted);
    return rc;
}

int rank_sets_read(rank_sets *s, snn_error *err)
{
    snn_record rec;
    for (;;) {
        int rc = snn_stream_read(s->reader, &rec, err);
        if (rc == SNN_EOF)
            break;
        if (rc == SNN_OK)
            rc = append(s, &rec, (size_t)snn_stream_reader_count(s->reader), err);
        if (rc)
            return rc;
    }
    return check_unique_ids(s, err);
}

/* Moves kept sets forward in place; a set's rows never move backwards, because
 * every kept set lands at or before its old place. */
void rank_sets_keep(rank_sets *s, const unsigned char *keep)
{
    size_t kept = 0, D = s->info.dim;
    int old_start = s->off[0];

    for (size_t k = 0; k < s->count; k++) {
        int old_end = s->off[k + 1];
        if (!keep[k]) {
            free(s->ids[k]);
            free(s->keys[k]);
            old_start = old_end;
            continue;
        }

        int n = old_end - old_start;
        memmove(s->rows + (size_t)s->off[kept] * D, s->rows + (size_t)old_start * D,
                (size_t)n * D * sizeof *s->rows);
        s->off[kept + 1] = s->off[kept] + n;
        s->ids[kept] = s->ids[k];
        s->keys[kept] = s->keys[k];
        s->record[kept] = s->record[k];
        if (s->key_id)
            s->key_id[kept] = s->key_id[k];
        kept++;
        old_start = old_end;
    }
    s->count = kept;
}

void rank_sets_free(rank_sets *s)
{
    for (size_t k = 0; k < s->count; k++) {
        free(s->ids[k]);
        free(s->keys[k]);
    }
    free(s->ids);
    free(s->keys);
    free(s->record);
    free(s->key_id);
    free(s->off);
    free(s->rows);
    snn_stream_reader_close(s->reader);
    if (s->fp && s->fp != stdin)
        fclose(s->fp);
    memset(s, 0, sizeof *s);
}
