/* Reading safetensors files: the header length, the JSON header (parsed with
 * jansson), the checks on every tensor's dtype, shape and data_offsets, and the
 * tensor data. Each tensor's data gets its own 16-byte aligned place in memory,
 * so callers may read F32 data as floats whatever its offset in the file. */
#include "safetensors_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stream.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},   {"F8_E4M3", 1}, {"F8_E5M2", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2},  {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"I64", 8},  {"U64", 8},     {"F64", 8},
};

size_t snn_st_dtype_size(const char *dtype)
{
    for (size_t i = 0; dtype && i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtype, dtypes[i].name) == 0)
            return dtypes[i].size;
    return 0;
}

int snn_st_expected_bytes(const int64_t *shape, int ndim, size_t elem_size, uint64_t *bytes)
{
    uint64_t total = elem_size;
    int zero = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] == 0)
            zero = 1;
        else if (total > UINT64_MAX / (uint64_t)shape[i])
            return -1;
        else
            total *= (uint64_t)shape[i];
    }
    *bytes = zero ? 0 : total;
    return 0;
}

/* Size of the regular file behind fp. A pipe is rejected: it has no size to
 * check offsets against. */
static int file_size(FILE *fp, uint64_t *size, snn_error *err)
{
    struct stat st;
    if (fstat(fileno(fp), &st) != 0)
        return snn_fail(err, SNN_EIO, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return snn_fail(err, SNN_EINVAL, "not a regular file: give the path of a model file");
    *size = (uint64_t)st.st_size;
    return SNN_OK;
}

static int read_exact(FILE *fp, void *dst, size_t n, snn_error *err)
{
    if (fread(dst, 1, n, fp) == n)
        return SNN_OK;
    if (ferror(fp))
        return snn_fail(err, SNN_EIO, "read failed: %s", strerror(errno));
    return snn_fail(err, SNN_EFORMAT, "the file ended early (was it changed while being read?)");
}

/* Reads the 8-byte length and the JSON text it announces, after checking the
 * length against the limit and the file size. */
static int read_header(snn_st_file *f, FILE *fp, uint64_t size, char **json, uint64_t *json_len,
                       snn_error *err)
{
    if (size < 8)
        return snn_fail(err, SNN_EFORMAT, "file of %" PRIu64 " bytes is too short for "
                        "safetensors (the header length alone takes 8 bytes)", size);
    uint8_t len_bytes[8];
    int rc = read_exact(fp, len_bytes, 8, err);
    if (rc != SNN_OK)
        return rc;
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | len_bytes[i];

    if (len > SNN_ST_MAX_HEADER)
        return snn_fail(err, SNN_EFORMAT, "header length %" PRIu64 " exceeds the limit of %d "
                        "bytes: the file is damaged or not safetensors", len, SNN_ST_MAX_HEADER);
    if (len > size - 8)
        return snn_fail(err, SNN_EFORMAT, "header length %" PRIu64 " is beyond the file size of "
                        "%" PRIu64 " bytes: the file is truncated or not safetensors", len, size);

    *json = malloc(len ? len : 1);
    if (!*json)
        return snn_fail(err, SNN_ENOMEM, "out of memory for a header of %" PRIu64 " bytes", len);
    rc = read_exact(fp, *json, len, err);
    f->fingerprint = snn_fnv1a64(SNN_FNV1A64_INIT, len_bytes, 8);
    f->fingerprint = snn_fnv1a64(f->fingerprint, *json, len);
    *json_len = len;
    return rc;
}

/* Reads the data section: tensors in offset order, which is file order since
 * the offsets were checked to be contiguous from 0. */
static int read_data(snn_st_file *f, FILE *fp, const snn_st_span *spans, snn_error *err)
{
    size_t total = 16;
    for (size_t i = 0; i < f->count; i++)
        total += (f->tensors[i].nbytes + 15) & ~(size_t)15;
    f->data = malloc(total);
    if (!f->data)
        return snn_fail(err, SNN_ENOMEM, "out of memory for %zu bytes of tensor data", total);

    size_t at = 0;
    for (size_t k = 0; k < f->count; k++) {
        snn_st_tensor *t = &f->tensors[spans[k].index];
        int rc = read_exact(fp, f->data + at, t->nbytes, err);
        if (rc != SNN_OK)
            return rc;
        t->data = f->data + at;
        f->fingerprint = snn_fnv1a64(f->fingerprint, t->data, t->nbytes);
        at += (t->nbytes + 15) & ~(size_t)15;
    }
    return SNN_OK;
}

static int read_file(snn_st_file *f, FILE *fp, snn_error *err)
{
    uint64_t size = 0, json_len = 0;
    char *json = NULL;
    snn_st_span *spans = NULL;
    int rc = file_size(fp, &size, err);
    if (rc == SNN_OK)
        rc = read_header(f, fp, size, &json, &json_len, err);
    if (rc == SNN_OK)
        rc = snn_st_parse_header(f, json, json_len, size - 8 - json_len, &spans, err);
    if (rc == SNN_OK)
        rc = read_data(f, fp, spans, err);
    free(json);
    free(spans);
    return rc;
}

int snn_st_read(snn_st_file **out, const char *path, snn_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return snn_fail(err, SNN_EIO, "%s: cannot open: %s", path, strerror(errno));
    snn_st_file *f = snn_zalloc(1, sizeof *f);
    int rc = f ? read_file(f, fp, err) : snn_fail(err, SNN_ENOMEM, "out of memory");
    fclose(fp);
    if (rc != SNN_OK) {
        snn_fail_prefix(err, "%s", path);
        snn_st_free(f);
        return rc;
    }
    *out = f;
    return SNN_OK;
}

size_t snn_st_count(const snn_st_file *f)
{
    return f->count;
}

const snn_st_tensor *snn_st_get(const snn_st_file *f, size_t i)
{
    return i < f->count ? &f->tensors[i] : NULL;
}

const snn_st_tensor *snn_st_find(const snn_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *snn_st_meta_get(const snn_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    return NULL;
}

size_t snn_st_meta_count(const snn_st_file *f)
{
    return f->meta_count;
}

const snn_st_meta *snn_st_meta_at(const snn_st_file *f, size_t i)
{
    return i < f->meta_count ? &f->meta[i] : NULL;
}

uint64_t snn_st_fingerprint(const snn_st_file *f)
{
    return f->fingerprint;
}

void snn_st_free(snn_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++) {
        free((char *)f->tensors[i].name);
        free((char *)f->tensors[i].dtype);
    }
    for (size_t i = 0; i < f->meta_count; i++) {
        free((char *)f->meta[i].key);
        free((char *)f->meta[i].value);
    }
    free(f->tensors);
    free(f->meta);
    free(f->data);
    free(f);
}
