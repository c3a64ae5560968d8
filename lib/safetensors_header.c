/* The JSON header of a safetensors file: tensor entries, "__metadata__", and
 * the rule that the tensors' data_offsets tile the data section exactly, with
 * no overlap, no gap and nothing out of bounds. */
#include "safetensors_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int parse_dtype(snn_st_tensor *t, json_t *entry, size_t *elem_size, snn_error *err)
{
    const char *dtype = json_string_value(json_object_get(entry, "dtype"));
    if (!dtype)
        return snn_fail(err, SNN_EFORMAT, "tensor \"%s\": \"dtype\" is missing or not a string",
                        t->name);
    *elem_size = snn_st_dtype_size(dtype);
    if (*elem_size == 0)
        return snn_fail(err, SNN_EFORMAT, "tensor \"%s\": unknown dtype \"%s\" (known: BOOL, U8, "
                        "I8, F8_E4M3, F8_E5M2, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64)",
                        t->name, dtype);
    t->dtype = strdup(dtype);
    return t->dtype ? SNN_OK : snn_fail(err, SNN_ENOMEM, "out of memory");
}

static int parse_shape(snn_st_tensor *t, json_t *entry, snn_error *err)
{
    json_t *shape = json_object_get(entry, "shape");
    size_t ndim = json_array_size(shape);
    if (!json_is_array(shape) || ndim > SNN_ST_MAX_DIMS)
        return snn_fail(err, SNN_EFORMAT, "tensor \"%s\": \"shape\" must be an array of at most "
                        "%d dimensions", t->name, SNN_ST_MAX_DIMS);
    t->ndim = (int)ndim;
    for (size_t i = 0; i < ndim; i++) {
        json_t *dim = json_array_get(shape, i);
        if (!json_is_integer(dim) || json_integer_value(dim) < 0)
            return snn_fail(err, SNN_EFORMAT, "tensor \"%s\": shape dimension %zu is not a "
                            "non-negative integer", t->name, i);
        t->shape[i] = json_integer_value(dim);
    }
    return SNN_OK;
}

static int parse_offsets(const snn_st_tensor *t, json_t *entry, uint64_t data_size,
                         snn_st_span *span, snn_error *err)
{
    json_t *offsets = json_object_get(entry, "data_offsets");
    json_t *b = json_array_get(offsets, 0), *e = json_array_get(offsets, 1);
    if (json_array_size(offsets) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
        json_integer_value(b) < 0 || json_integer_value(e) < json_integer_value(b))
        return snn_fail(err, SNN_EFORMAT, "tensor \"%s\": \"data_offsets\" must be [begin, end] "
                        "with integers 0 <= begin <= end", t->name);
    span->begin = (uint64_t)json_integer_value(b);
    span->end = (uint64_t)json_integer_value(e);
    if (span->end > data_size)
        return snn_fail(err, SNN_EFORMAT, "tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] "
                        "end beyond the %" PRIu64 " bytes of tensor data: the file is truncated "
                        "or damaged", t->name, span->begin, span->end, data_size);
    return SNN_OK;
}

static int parse_tensor(snn_st_tensor *t, const char *name, json_t *entry, uint64_t data_size,
                        snn_st_span *span, snn_error *err)
{
    t->name = strdup(name);
    if (!t->name)
        return snn_fail(err, SNN_ENOMEM, "out of memory");
    if (!json_is_object(entry))
        return snn_fail(err, SNN_EFORMAT, "tensor \"%s\": its entry is not a JSON object", name);

    size_t elem_size = 0;
    uint64_t want = 0;
    int rc = parse_dtype(t, entry, &elem_size, err);
    if (rc == SNN_OK)
        rc = parse_shape(t, entry, err);
    if (rc == SNN_OK)
        rc = parse_offsets(t, entry, data_size, span, err);
    if (rc != SNN_OK)
        return rc;

    uint64_t have = span->end - span->begin;
    if (snn_st_expected_bytes(t->shape, t->ndim, elem_size, &want) != 0 || want != have)
        return snn_fail(err, SNN_EFORMAT, "tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
                        "] span %" PRIu64 " bytes, which does not match its %s shape",
                        name, span->begin, span->end, have, t->dtype);
    t->nbytes = (size_t)have;
    return SNN_OK;
}

static int parse_metadata(snn_st_file *f, json_t *meta, snn_error *err)
{
    if (!json_is_object(meta))
        return snn_fail(err, SNN_EFORMAT, "\"__metadata__\" is not a JSON object of strings");
    f->meta = snn_zalloc(json_object_size(meta), sizeof *f->meta);
    if (!f->meta)
        return snn_fail(err, SNN_ENOMEM, "out of memory");

    const char *key;
    json_t *value;
    json_object_foreach(meta, key, value) {
        if (!json_is_string(value))
            return snn_fail(err, SNN_EFORMAT, "metadata \"%s\" is not a string: safetensors "
                            "metadata values must be strings (write numbers as \"12\")", key);
        snn_st_meta *m = &f->meta[f->meta_count++];
        m->key = strdup(key);
        m->value = strdup(json_string_value(value));
        if (!m->key || !m->value)
            return snn_fail(err, SNN_ENOMEM, "out of memory");
    }
    return SNN_OK;
}

static int compare_spans(const void *a, const void *b)
{
    const snn_st_span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* The spans sorted by offset must run from 0 to data_size, each starting where
 * the previous one ends. Empty tensors take no bytes. */
static int check_spans(const snn_st_file *f, snn_st_span *spans, uint64_t data_size,
                       snn_error *err)
{
    qsort(spans, f->count, sizeof *spans, compare_spans);
    uint64_t at = 0;
    for (size_t k = 0; k < f->count; k++) {
        const snn_st_span *s = &spans[k];
        const char *name = f->tensors[s->index].name;
        if (s->begin < at)
            return snn_fail(err, SNN_EFORMAT, "tensor \"%s\" data_offsets [%" PRIu64 ", %" PRIu64
                            "] overlap tensor \"%s\", which ends at %" PRIu64, name, s->begin,
                            s->end, f->tensors[spans[k - 1].index].name, at);
        if (s->begin > at)
            return snn_fail(err, SNN_EFORMAT, "data bytes %" PRIu64 "..%" PRIu64 " before tensor "
                            "\"%s\" belong to no tensor: offsets must be contiguous", at,
                            s->begin, name);
        at = s->end;
    }
    if (at != data_size)
        return snn_fail(err, SNN_EFORMAT, "data bytes %" PRIu64 "..%" PRIu64 " after the last "
                        "tensor belong to no tensor: offsets must cover the data section", at,
                        data_size);
    return SNN_OK;
}

static int parse_root(snn_st_file *f, json_t *root, uint64_t data_size, snn_st_span *spans,
                      snn_error *err)
{
    const char *name;
    json_t *entry;
    size_t i = 0;
    json_object_foreach(root, name, entry) {
        int rc;
        if (strcmp(name, "__metadata__") == 0) {
            rc = parse_metadata(f, entry, err);
        } else {
            spans[i].index = i;
            rc = parse_tensor(&f->tensors[i], name, entry, data_size, &spans[i], err);
            i++;
        }
        if (rc != SNN_OK)
            return rc;
    }
    return check_spans(f, spans, data_size, err);
}

int snn_st_parse_header(snn_st_file *f, const char *json, size_t json_len, uint64_t data_size,
                        snn_st_span **spans, snn_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return snn_fail(err, SNN_EFORMAT, "invalid JSON header at line %d, column %d: %s",
                        jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return snn_fail(err, SNN_EFORMAT, "the JSON header is not an object");
    }

    size_t count = json_object_size(root) - (json_object_get(root, "__metadata__") ? 1 : 0);
    f->tensors = snn_zalloc(count, sizeof *f->tensors);
    *spans = snn_zalloc(count, sizeof **spans);
    int rc = SNN_OK;
    if (!f->tensors || !*spans)
        rc = snn_fail(err, SNN_ENOMEM, "out of memory for %zu tensors", count);
    if (rc == SNN_OK) {
        f->count = count;
        rc = parse_root(f, root, data_size, *spans, err);
    }
    json_decref(root);
    return rc;
}
