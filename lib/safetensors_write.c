/* Writing safetensors files: the JSON header built with jansson and padded with
 * spaces so the data starts 8-byte aligned, then the tensors back to back in the
 * order given. The file is written under a temporary name in the target's
 * directory, synced and renamed, so readers see the old file or the new one. */
#include "safetensors_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_tensor(const snn_st_tensor *t, snn_error *err)
{
    if (!t->name || !t->name[0] || strcmp(t->name, "__metadata__") == 0)
        return snn_fail(err, SNN_EINVAL, "tensor name \"%s\" is invalid: names must be non-empty "
                        "and not \"__metadata__\"", t->name ? t->name : "(null)");
    size_t elem_size = snn_st_dtype_size(t->dtype);
    if (elem_size == 0)
        return snn_fail(err, SNN_EINVAL, "tensor \"%s\": unknown dtype \"%s\"", t->name,
                        t->dtype ? t->dtype : "(null)");
    if (t->ndim < 0 || t->ndim > SNN_ST_MAX_DIMS)
        return snn_fail(err, SNN_EINVAL, "tensor \"%s\": %d dimensions (at most %d)", t->name,
                        t->ndim, SNN_ST_MAX_DIMS);

    uint64_t want = 0;
    if (snn_st_expected_bytes(t->shape, t->ndim, elem_size, &want) != 0 || want != t->nbytes)
        return snn_fail(err, SNN_EINVAL, "tensor \"%s\": nbytes %zu does not match its %s shape",
                        t->name, t->nbytes, t->dtype);
    if (t->nbytes > 0 && !t->data)
        return snn_fail(err, SNN_EINVAL, "tensor \"%s\": %zu bytes but no data", t->name,
                        t->nbytes);
    return SNN_OK;
}

static json_t *tensor_entry(const snn_st_tensor *t, uint64_t begin)
{
    json_t *shape = json_array();
    for (int i = 0; shape && i < t->ndim; i++)
        json_array_append_new(shape, json_integer(t->shape[i]));
    json_t *offsets = json_pack("[II]", (json_int_t)begin, (json_int_t)(begin + t->nbytes));
    return json_pack("{s:s, s:o, s:o}", "dtype", t->dtype, "shape", shape, "data_offsets",
                     offsets);
}

static int add_metadata(json_t *root, const snn_st_meta *meta, size_t count, snn_error *err)
{
    json_t *obj = json_object();
    if (!obj || json_object_set_new(root, "__metadata__", obj) != 0)
        return snn_fail(err, SNN_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const char *key = meta[i].key, *value = meta[i].value;
        if (!key || !value)
            return snn_fail(err, SNN_EINVAL, "metadata entry %zu has no key or no value", i);
        if (json_object_get(obj, key))
            return snn_fail(err, SNN_EINVAL, "metadata key \"%s\" appears twice", key);
        if (json_object_set_new(obj, key, json_string(value)) != 0)
            return snn_fail(err, SNN_EINVAL, "metadata \"%s\": key or value is not valid UTF-8",
                            key);
    }
    return SNN_OK;
}

static int add_tensors(json_t *root, const snn_st_tensor *tensors, size_t count, snn_error *err)
{
    uint64_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        const snn_st_tensor *t = &tensors[i];
        int rc = check_tensor(t, err);
        if (rc != SNN_OK)
            return rc;
        if (json_object_get(root, t->name))
            return snn_fail(err, SNN_EINVAL, "tensor name \"%s\" appears twice", t->name);
        if (json_object_set_new(root, t->name, tensor_entry(t, offset)) != 0)
            return snn_fail(err, SNN_EINVAL, "tensor \"%s\": name is not valid UTF-8", t->name);
        offset += t->nbytes;
    }
    return SNN_OK;
}

/* Builds the header text padded with spaces to a multiple of 8 bytes, which
 * puts the data at an 8-byte aligned offset after the 8-byte length. */
static int header_text(char **out, size_t *len, const snn_st_tensor *tensors, size_t count,
                       const snn_st_meta *meta, size_t meta_count, snn_error *err)
{
    json_t *root = json_object();
    if (!root)
        return snn_fail(err, SNN_ENOMEM, "out of memory");
    int rc = meta_count ? add_metadata(root, meta, meta_count, err) : SNN_OK;
    if (rc == SNN_OK)
        rc = add_tensors(root, tensors, count, err);
    char *text = rc == SNN_OK ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (rc != SNN_OK)
        return rc;

    size_t n = text ? strlen(text) : 0, padded = (n + 7) & ~(size_t)7;
    char *grown = text ? realloc(text, padded + 1) : NULL;
    if (!grown) {
        free(text);
        return snn_fail(err, SNN_ENOMEM, "out of memory for the JSON header");
    }
    memset(grown + n, ' ', padded - n);
    grown[padded] = '\0';
    *out = grown;
    *len = padded;
    return SNN_OK;
}

static int write_contents(FILE *fp, const char *header, size_t header_len,
                          const snn_st_tensor *tensors, size_t count)
{
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; i++)
        len_bytes[i] = (uint8_t)((uint64_t)header_len >> (8 * i));
    if (fwrite(len_bytes, 1, 8, fp) != 8 || fwrite(header, 1, header_len, fp) != header_len)
        return -1;
    for (size_t i = 0; i < count; i++) {
        size_t n = tensors[i].nbytes;
        if (n && fwrite(tensors[i].data, 1, n, fp) != n)
            return -1;
    }
    return 0;
}

/* Creates "PATH.tmp.PID.N" exclusively, trying a few N in case of leftovers. */
static FILE *open_temporary(const char *path, char **tmp_path)
{
    size_t size = strlen(path) + 48;
    *tmp_path = malloc(size);
    int fd = -1;
    for (int n = 0; *tmp_path && fd < 0 && n < 100; n++) {
        snprintf(*tmp_path, size, "%s.tmp.%ld.%d", path, (long)getpid(), n);
        fd = open(*tmp_path, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            return NULL;
    }
    if (fd < 0)
        return NULL;

    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        int saved = errno;
        close(fd);
        unlink(*tmp_path);
        errno = saved;
    }
    return fp;
}

/* Syncs the directory holding path so the rename survives a crash. Failure is
 * ignored: some file systems do not support fsync on directories. */
static void sync_directory(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int snn_st_write(const char *path, const snn_st_tensor *tensors, size_t count,
                 const snn_st_meta *meta, size_t meta_count, snn_error *err)
{
    size_t header_len = 0;
    char *header = NULL;
    int rc = header_text(&header, &header_len, tensors, count, meta, meta_count, err);
    if (rc != SNN_OK) {
        snn_fail_prefix(err, "%s", path);
        return rc;
    }

    /* Renaming over a device or FIFO would replace it with a regular file. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        free(header);
        return snn_fail(err, SNN_EINVAL, "%s: not a regular file: write the model to a file "
                        "path", path);
    }

    char *tmp_path = NULL;
    FILE *fp = open_temporary(path, &tmp_path);
    if (!fp)
        rc = snn_fail(err, SNN_EIO, "%s: cannot create a temporary file next to it: %s", path,
                      strerror(errno));
    else if (write_contents(fp, header, header_len, tensors, count) != 0 || fflush(fp) != 0 ||
             fsync(fileno(fp)) != 0)
        rc = snn_fail(err, SNN_EIO, "%s: write failed: %s", path, strerror(errno));
    if (fp && fclose(fp) != 0 && rc == SNN_OK)
        rc = snn_fail(err, SNN_EIO, "%s: write failed: %s", path, strerror(errno));
    if (rc == SNN_OK && rename(tmp_path, path) != 0)
        rc = snn_fail(err, SNN_EIO, "%s: cannot rename the temporary file over it: %s", path,
                      strerror(errno));

    if (rc == SNN_OK)
        sync_directory(path);
    else if (fp)
        unlink(tmp_path);
    free(tmp_path);
    free(header);
    return rc;
}
