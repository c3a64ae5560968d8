/* Dataset JSON in the Karpathy split layout (dataset_flickr30k.json,
 * dataset_coco.json), plus an optional per-image "group" match key. */
#include "text.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Where in the file a value sits, for messages: path and "images[3].sentences[1]". */
typedef struct {
    const char *path;
    char at[96];
    snn_error *err;
} location;

static int fail_at(const location *loc, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(const location *loc, int code, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return snn_fail(loc->err, code, "%s: %s: %s", loc->path, loc->at, what);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* Copies the string field name of obj into *out; an absent optional field
 * gives fallback (NULL for a required one). */
static int get_string(char **out, const json_t *obj, const char *name, const char *fallback,
                      const location *loc)
{
    const json_t *v = json_object_get(obj, name);
    if (!v && !fallback)
        return fail_at(loc, SNN_EFORMAT, "missing \"%s\"", name);
    if (v && !json_is_string(v))
        return fail_at(loc, SNN_EFORMAT, "\"%s\" must be a string, got %s", name, type_name(v));
    *out = dup_string(v ? json_string_value(v) : fallback);
    return *out ? SNN_OK : fail_at(loc, SNN_ENOMEM, "out of memory");
}

static int get_long(long *out, const json_t *obj, const char *name, const location *loc)
{
    const json_t *v = json_object_get(obj, name);
    if (!v)
        return fail_at(loc, SNN_EFORMAT, "missing \"%s\"", name);
    if (!json_is_integer(v))
        return fail_at(loc, SNN_EFORMAT, "\"%s\" must be an integer, got %s", name, type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < LONG_MIN || x > LONG_MAX)
        return fail_at(loc, SNN_EFORMAT, "\"%s\" is out of range", name);
    *out = (long)x;
    return SNN_OK;
}

static const json_t *get_array(const json_t *obj, const char *name, const location *loc,
                               int *rc)
{
    const json_t *v = json_object_get(obj, name);
    if (!v)
        *rc = fail_at(loc, SNN_EFORMAT, "missing \"%s\" array", name);
    else if (!json_is_array(v))
        *rc = fail_at(loc, SNN_EFORMAT, "\"%s\" must be an array, got %s", name, type_name(v));
    else
        *rc = SNN_OK;
    return *rc == SNN_OK ? v : NULL;
}

static int parse_sentence(snn_sentence *s, const json_t *v, const location *loc)
{
    if (!json_is_object(v))
        return fail_at(loc, SNN_EFORMAT, "expected an object, got %s", type_name(v));
    int rc = get_string(&s->raw, v, "raw", NULL, loc);
    return rc == SNN_OK ? get_long(&s->sentid, v, "sentid", loc) : rc;
}

static int parse_sentences(snn_dataset_image *im, const json_t *obj, location *loc)
{
    int rc;
    const json_t *list = get_array(obj, "sentences", loc, &rc);
    if (!list)
        return rc;
    size_t n = json_array_size(list);
    im->sentences = snn_zalloc(n, sizeof *im->sentences);
    if (!im->sentences)
        return fail_at(loc, SNN_ENOMEM, "out of memory for %zu sentences", n);
    im->n_sentences = n;

    size_t prefix = strlen(loc->at);
    for (size_t j = 0; j < n; j++) {
        snprintf(loc->at + prefix, sizeof loc->at - prefix, ".sentences[%zu]", j);
        rc = parse_sentence(&im->sentences[j], json_array_get(list, j), loc);
        if (rc != SNN_OK)
            return rc;
    }
    loc->at[prefix] = '\0';
    return SNN_OK;
}

/* The match key: "group" when present (a non-empty string), else imgid. */
static int make_key(snn_dataset_image *im, const json_t *obj, const location *loc)
{
    if (json_object_get(obj, "group")) {
        int rc = get_string(&im->key, obj, "group", NULL, loc);
        if (rc == SNN_OK && im->key[0] == '\0')
            return fail_at(loc, SNN_EFORMAT, "\"group\" is empty: omit it or give a name");
        return rc;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%ld", im->imgid);
    im->key = dup_string(digits);
    return im->key ? SNN_OK : fail_at(loc, SNN_ENOMEM, "out of memory");
}

/* Joins root, filepath and filename with "/", skipping empty parts; an
 * absolute part replaces everything before it. */
static char *join_path(const char *root, const char *dir, const char *file)
{
    const char *parts[3] = {root, dir, file};
    size_t cap = strlen(root) + strlen(dir) + strlen(file) + 3;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (parts[i][0] == '\0')
            continue;
        size_t len = strlen(out);
        if (parts[i][0] == '/')
            len = 0;
        else if (len > 0 && out[len - 1] != '/')
            out[len++] = '/';
        strcpy(out + len, parts[i]);
    }
    return out;
}

static int parse_image(snn_dataset_image *im, const json_t *obj, const char *root,
                       location *loc)
{
    if (!json_is_object(obj))
        return fail_at(loc, SNN_EFORMAT, "expected an object, got %s", type_name(obj));
    int rc = get_string(&im->filename, obj, "filename", NULL, loc);
    if (rc == SNN_OK)
        rc = get_string(&im->filepath, obj, "filepath", "", loc);
    if (rc == SNN_OK)
        rc = get_string(&im->split, obj, "split", NULL, loc);
    if (rc == SNN_OK)
        rc = get_long(&im->imgid, obj, "imgid", loc);
    if (rc == SNN_OK)
        rc = make_key(im, obj, loc);
    if (rc == SNN_OK && !(im->path = join_path(root, im->filepath, im->filename)))
        rc = fail_at(loc, SNN_ENOMEM, "out of memory");
    if (rc == SNN_OK)
        rc = parse_sentences(im, obj, loc);
    return rc;
}

/* The directory part of path: "" for a bare file name, "/" for a file in /. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = 0;
    if (slash == path)
        n = 1;
    else if (slash)
        n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

static int parse_root(snn_dataset *d, const json_t *root, const char *image_root,
                      location *loc)
{
    if (!json_is_object(root))
        return snn_fail(loc->err, SNN_EFORMAT, "%s: expected a JSON object with an \"images\" "
                        "array, got %s", loc->path, type_name(root));
    snprintf(loc->at, sizeof loc->at, "top level");
    int rc = get_string(&d->name, root, "dataset", "", loc);
    const json_t *images = rc == SNN_OK ? get_array(root, "images", loc, &rc) : NULL;
    if (!images)
        return rc;

    size_t n = json_array_size(images);
    d->images = snn_zalloc(n, sizeof *d->images);
    if (!d->images)
        return snn_fail(loc->err, SNN_ENOMEM, "%s: out of memory for %zu images", loc->path, n);
    d->n_images = n;

    char *dir = image_root ? dup_string(image_root) : dir_of(loc->path);
    if (!dir)
        return snn_fail(loc->err, SNN_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == SNN_OK; i++) {
        snprintf(loc->at, sizeof loc->at, "images[%zu]", i);
        rc = parse_image(&d->images[i], json_array_get(images, i), dir, loc);
    }
    free(dir);
    return rc;
}

int snn_dataset_load(snn_dataset **out, const char *path, const char *image_root,
                     snn_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return snn_fail(err, SNN_EIO, "cannot open %s: %s", path, strerror(errno));
    json_error_t jerr;
    json_t *root = json_loadf(fp, 0, &jerr);
    fclose(fp);
    if (!root)
        return snn_fail(err, SNN_EFORMAT, "%s: line %d, column %d: invalid JSON: %s", path,
                        jerr.line, jerr.column, jerr.text);

    snn_dataset *d = snn_zalloc(1, sizeof *d);
    location loc = {.path = path, .err = err};
    int rc = d ? parse_root(d, root, image_root, &loc)
               : snn_fail(err, SNN_ENOMEM, "out of memory");
    json_decref(root);
    if (rc != SNN_OK) {
        snn_dataset_free(d);
        return rc;
    }
    *out = d;
    return SNN_OK;
}

static void free_image(snn_dataset_image *im)
{
    free(im->filename);
    free(im->filepath);
    free(im->split);
    free(im->key);
    free(im->path);
    for (size_t j = 0; j < im->n_sentences; j++)
        free(im->sentences[j].raw);
    free(im->sentences);
}

void snn_dataset_free(snn_dataset *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_images; i++)
        free_image(&d->images[i]);
    free(d->images);
    free(d->name);
    free(d);
}
