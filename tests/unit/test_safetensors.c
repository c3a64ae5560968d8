/* Safetensors model files: round trip, the header checked as JSON against every
 * tensor, 8-byte alignment, empty tensors, atomic replacement, and hand-made bad
 * files rejected with a message that names the problem. */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "safetensors.h"
#include "stream.h"

static char dir[] = "/tmp/test_safetensors.XXXXXX";

static char *path_in_dir(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    rewind(fp);
    uint8_t *p = malloc(*len + 1);
    if (fread(p, 1, *len, fp) != *len)
        *len = 0;
    fclose(fp);
    return p;
}

static size_t count_dir_entries(void)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* ---- a model-like set of tensors */

static float w[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.5f, 8.0f};
static int32_t ids[4] = {7, -1, 65536, 2};
static uint8_t bytes5[5] = {1, 2, 3, 4, 5};
static float tail[3] = {0.125f, 1e-3f, -7.0f};
static double scalar = 2.718281828;

static size_t make_tensors(snn_st_tensor *t)
{
    t[0] = (snn_st_tensor){"enc.w", "F32", 2, {2, 3}, w, sizeof w};
    t[1] = (snn_st_tensor){"ids", "I32", 1, {4}, ids, sizeof ids};
    t[2] = (snn_st_tensor){"bytes", "U8", 1, {5}, bytes5, sizeof bytes5};
    t[3] = (snn_st_tensor){"empty", "F32", 2, {0, 4}, NULL, 0};
    t[4] = (snn_st_tensor){"after_odd", "F32", 1, {3}, tail, sizeof tail};
    t[5] = (snn_st_tensor){"step", "F64", 0, {0}, &scalar, sizeof scalar};
    return 6;
}

static const snn_st_meta meta[2] = {{"format", "snn-itr"}, {"dim", "256"}};

static void test_round_trip(void)
{
    snn_st_tensor t[6];
    size_t n = make_tensors(t);
    snn_error err = {0};
    const char *path = path_in_dir("model.safetensors");
    CHECK_INT(snn_st_write(path, t, n, meta, 2, &err), SNN_OK);

    snn_st_file *f = NULL;
    CHECK_INT(snn_st_read(&f, path, &err), SNN_OK);
    if (!f)
        return;
    CHECK_INT(snn_st_count(f), n);
    for (size_t i = 0; i < n; i++) {
        const snn_st_tensor *g = snn_st_get(f, i);
        CHECK_STR(g->name, t[i].name);
        CHECK_STR(g->dtype, t[i].dtype);
        CHECK_INT(g->ndim, t[i].ndim);
        for (int d = 0; d < t[i].ndim; d++)
            CHECK_INT(g->shape[d], t[i].shape[d]);
        CHECK_INT(g->nbytes, t[i].nbytes);
        CHECK(g->data != NULL);
        CHECK(t[i].nbytes == 0 || memcmp(g->data, t[i].data, t[i].nbytes) == 0);
        CHECK_INT((uintptr_t)g->data % 16, 0); /* usable as float * whatever the offset */
    }
    CHECK(snn_st_get(f, n) == NULL);
    CHECK(snn_st_find(f, "after_odd") == snn_st_get(f, 4));
    CHECK(snn_st_find(f, "missing") == NULL);
    CHECK_NEAR(((const float *)snn_st_find(f, "after_odd")->data)[2], -7.0, 0, 0);

    CHECK_INT(snn_st_meta_count(f), 2);
    CHECK_STR(snn_st_meta_get(f, "format"), "snn-itr");
    CHECK_STR(snn_st_meta_get(f, "dim"), "256");
    CHECK(snn_st_meta_get(f, "nothing") == NULL);
    CHECK_STR(snn_st_meta_at(f, 1)->key, "dim");

    size_t len = 0;
    uint8_t *raw = slurp(path, &len);
    CHECK(snn_st_fingerprint(f) == snn_fnv1a64(SNN_FNV1A64_INIT, raw, len));
    free(raw);
    snn_st_free(f);
    CHECK_INT(count_dir_entries(), 1); /* no temporary file left behind */
}

/* Parses the file as a reader in another language would, from the format alone. */
static void test_header_is_valid_json(void)
{
    snn_st_tensor t[6];
    size_t n = make_tensors(t), len = 0;
    snn_error err = {0};
    const char *path = path_in_dir("model.safetensors");
    CHECK_INT(snn_st_write(path, t, n, meta, 2, &err), SNN_OK);
    uint8_t *raw = slurp(path, &len);

    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | raw[i];
    CHECK_INT((8 + hlen) % 8, 0);
    CHECK_INT(raw[8], '{');
    json_error_t jerr;
    json_t *root = json_loadb((const char *)raw + 8, hlen, 0, &jerr);
    CHECK(root != NULL);
    if (!root) {
        free(raw);
        return;
    }
    CHECK_INT(json_object_size(root), n + 1);
    CHECK_STR(json_string_value(json_object_get(json_object_get(root, "__metadata__"), "dim")),
              "256");

    const uint8_t *data = raw + 8 + hlen;
    uint64_t expect_begin = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object_get(root, t[i].name);
        CHECK_STR(json_string_value(json_object_get(e, "dtype")), t[i].dtype);
        json_t *shape = json_object_get(e, "shape");
        CHECK_INT(json_array_size(shape), t[i].ndim);
        for (int d = 0; d < t[i].ndim; d++)
            CHECK_INT(json_integer_value(json_array_get(shape, d)), t[i].shape[d]);
        json_t *off = json_object_get(e, "data_offsets");
        uint64_t b = (uint64_t)json_integer_value(json_array_get(off, 0));
        uint64_t end = (uint64_t)json_integer_value(json_array_get(off, 1));
        CHECK_INT(b, expect_begin);
        CHECK_INT(end - b, t[i].nbytes);
        CHECK(t[i].nbytes == 0 || memcmp(data + b, t[i].data, t[i].nbytes) == 0);
        expect_begin = end;
    }
    CHECK_INT(len, 8 + hlen + expect_begin);

    /* The JSON text is followed only by spaces up to the data. */
    char *text = json_dumps(root, JSON_COMPACT);
    size_t tlen = strlen(text);
    CHECK(tlen <= hlen);
    CHECK(hlen - tlen < 8);
    for (size_t i = tlen; i < hlen; i++)
        CHECK_INT(raw[8 + i], ' ');
    free(text);
    json_decref(root);
    free(raw);
}

static void test_only_empty_tensor(void)
{
    snn_st_tensor t = {"nothing", "I64", 3, {2, 0, 5}, NULL, 0};
    snn_error err = {0};
    const char *path = path_in_dir("empty.safetensors");
    CHECK_INT(snn_st_write(path, &t, 1, NULL, 0, &err), SNN_OK);
    snn_st_file *f = NULL;
    CHECK_INT(snn_st_read(&f, path, &err), SNN_OK);
    if (f) {
        CHECK_INT(snn_st_count(f), 1);
        CHECK_INT(snn_st_get(f, 0)->nbytes, 0);
        CHECK_INT(snn_st_get(f, 0)->shape[1], 0);
        CHECK_INT(snn_st_meta_count(f), 0);
    }
    snn_st_free(f);
    size_t len = 0;
    uint8_t *raw = slurp(path, &len);
    CHECK_INT(len % 8, 0);
    free(raw);
    unlink(path);
}

static void test_replaces_existing_file(void)
{
    const char *path = path_in_dir("model.safetensors");
    snn_st_tensor t = {"only", "U8", 1, {5}, bytes5, 5};
    snn_error err = {0};
    CHECK_INT(snn_st_write(path, &t, 1, NULL, 0, &err), SNN_OK);
    snn_st_file *f = NULL;
    CHECK_INT(snn_st_read(&f, path, &err), SNN_OK);
    if (f)
        CHECK_INT(snn_st_count(f), 1);
    snn_st_free(f);
    CHECK_INT(count_dir_entries(), 1);
}

/* ---- writer checks */

static void check_message(int rc, int code, const snn_error *err, const char *part)
{
    CHECK_INT(rc, code);
    if (!strstr(err->msg, part)) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err->msg, part);
        CHECK(0);
    }
}

static void test_writer_rejects(void)
{
    const char *path = path_in_dir("bad.safetensors");
    snn_error err = {0};
    snn_st_tensor t[2] = {{"a", "F32", 1, {2}, w, 8}, {"a", "F32", 1, {2}, w, 8}};
    check_message(snn_st_write(path, t, 2, NULL, 0, &err), SNN_EINVAL, &err,
                  "tensor name \"a\" appears twice");
    t[1].name = "b";
    t[1].nbytes = 12;
    check_message(snn_st_write(path, t, 2, NULL, 0, &err), SNN_EINVAL, &err,
                  "tensor \"b\": nbytes 12 does not match its F32 shape");
    t[1].nbytes = 8;
    t[1].dtype = "F128";
    check_message(snn_st_write(path, t, 2, NULL, 0, &err), SNN_EINVAL, &err,
                  "unknown dtype \"F128\"");
    t[1].dtype = "F32";
    t[1].name = "__metadata__";
    check_message(snn_st_write(path, t, 2, NULL, 0, &err), SNN_EINVAL, &err, "is invalid");
    snn_st_meta twice[2] = {{"k", "1"}, {"k", "2"}};
    check_message(snn_st_write(path, t, 1, twice, 2, &err), SNN_EINVAL, &err,
                  "metadata key \"k\" appears twice");
    check_message(snn_st_write("/nonexistent-dir/x.safetensors", t, 1, NULL, 0, &err), SNN_EIO,
                  &err, "/nonexistent-dir/x.safetensors: cannot create a temporary file");
    CHECK(access(path, F_OK) != 0);
    CHECK_INT(count_dir_entries(), 1);
}

/* ---- hand-made bad files */

/* Writes an 8-byte length (header_len, or the JSON length when 0), the JSON and
 * data_len data bytes. */
static const char *write_raw(const char *json, uint64_t header_len, size_t data_len)
{
    const char *path = path_in_dir("raw.safetensors");
    FILE *fp = fopen(path, "wb");
    uint64_t len = header_len ? header_len : strlen(json);
    for (int i = 0; i < 8; i++)
        fputc((int)(len >> (8 * i)) & 0xff, fp);
    fputs(json, fp);
    for (size_t i = 0; i < data_len; i++)
        fputc((int)i, fp);
    fclose(fp);
    return path;
}

static void expect_bad(const char *json, uint64_t header_len, size_t data_len, int code,
                       const char *part)
{
    const char *path = write_raw(json, header_len, data_len);
    snn_st_file *f = NULL;
    snn_error err = {0};
    int rc = snn_st_read(&f, path, &err);
    check_message(rc, code, &err, part);
    CHECK(f == NULL);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    snn_st_free(f);
}

static void test_reader_rejects(void)
{
    const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    const char *path = write_raw(ok, 0, 8);
    snn_st_file *f = NULL;
    snn_error err = {0};
    CHECK_INT(snn_st_read(&f, path, &err), SNN_OK); /* the template itself is valid */
    snn_st_free(f);

    FILE *fp = fopen(path, "wb");
    fputs("abc", fp);
    fclose(fp);
    check_message(snn_st_read(&f, path, &err), SNN_EFORMAT, &err, "file of 3 bytes is too short");
    check_message(snn_st_read(&f, path_in_dir("none"), &err), SNN_EIO, &err, "none: cannot open");

    expect_bad(ok, 200000000, 8, SNN_EFORMAT, "header length 200000000 exceeds the limit");
    expect_bad(ok, 4096, 8, SNN_EFORMAT, "header length 4096 is beyond the file size");
    expect_bad("{\"a\": [1, 2", 0, 0, SNN_EFORMAT, "invalid JSON header at line 1");
    expect_bad("[1, 2]", 0, 0, SNN_EFORMAT, "the JSON header is not an object");
    expect_bad("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, SNN_EFORMAT,
               "tensor \"a\": unknown dtype \"Q4\"");
    expect_bad("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, SNN_EFORMAT,
               "\"dtype\" is missing");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 0, 8,
               SNN_EFORMAT, "shape dimension 0 is not a non-negative integer");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 0, 8,
               SNN_EFORMAT, "\"data_offsets\" must be [begin, end]");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8,
               SNN_EFORMAT, "tensor \"a\": data_offsets [0, 8] span 8 bytes, which does not match");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 0, 8,
               SNN_EFORMAT, "end beyond the 8 bytes of tensor data");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 0, 12,
               SNN_EFORMAT,
               "tensor \"b\" data_offsets [4, 12] overlap tensor \"a\", which ends at 8");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 0, 12,
               SNN_EFORMAT, "data bytes 4..8 before tensor \"b\" belong to no tensor");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, 8,
               SNN_EFORMAT, "data bytes 4..8 after the last tensor belong to no tensor");
    expect_bad("{\"__metadata__\":{\"epochs\":3},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8,
               SNN_EFORMAT, "metadata \"epochs\" is not a string");
    expect_bad("{\"__metadata__\":[\"x\"]}", 0, 0, SNN_EFORMAT,
               "\"__metadata__\" is not a JSON object");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8,
               SNN_EFORMAT, "duplicate object key");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
               0, 4, SNN_EFORMAT, "at most 8 dimensions");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
               "\"data_offsets\":[0,0]}}", 0, 0, SNN_EFORMAT, "does not match");
    expect_bad("{\"a\":7}", 0, 0, SNN_EFORMAT, "tensor \"a\": its entry is not a JSON object");
    unlink(path);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_header_is_valid_json();
    test_only_empty_tensor();
    test_replaces_existing_file();
    test_writer_rejects();
    test_reader_rejects();

    unlink(path_in_dir("model.safetensors"));
    rmdir(dir);
    CHECK_DONE();
}
