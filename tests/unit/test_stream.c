/* Record streams: round trips of every kind, bit packing, the byte layout of
 * man/snn-stream.5 checked field by field, truncation at every offset,
 * corruption, concatenation, limits, and reading from a pipe. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "check.h"
#include "stream.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static float getf(const uint8_t *p)
{
    uint32_t bits = get32(p);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static FILE *file_from_bytes(const uint8_t *p, size_t n)
{
    FILE *fp = tmpfile();
    if (n)
        fwrite(p, 1, n, fp);
    rewind(fp);
    return fp;
}

static uint8_t *zcompress(const uint8_t *p, size_t n, size_t *len)
{
    size_t cap = ZSTD_compressBound(n);
    uint8_t *out = malloc(cap);
    *len = ZSTD_compress(out, cap, p, n, 3);
    CHECK(!ZSTD_isError(*len));
    return out;
}

static uint8_t *zdecompress(const uint8_t *p, size_t n, size_t *len)
{
    size_t cap = 1 << 22;
    uint8_t *out = malloc(cap);
    *len = ZSTD_decompress(out, cap, p, n);
    CHECK(!ZSTD_isError(*len));
    return out;
}

/* Writes records into memory and returns the compressed stream. */
static uint8_t *write_stream(const snn_stream_info *info, const snn_record *recs, size_t count,
                             size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&buf, &size);
    snn_error err = {0};
    snn_stream_writer *w = snn_stream_writer_open(fp, info, 3, &err);
    CHECK(w != NULL);
    for (size_t i = 0; w && i < count; i++)
        CHECK_INT(snn_stream_write(w, &recs[i], &err), SNN_OK);
    CHECK_INT(snn_stream_writer_close(w, &err), SNN_OK);
    fclose(fp);
    *len = size;
    return (uint8_t *)buf;
}

/* Reads a whole input; returns the last status (SNN_EOF when complete) and
 * counts the records returned before it. */
static int read_all(const uint8_t *p, size_t n, const char *name, size_t *records, snn_error *err)
{
    FILE *fp = file_from_bytes(p, n);
    *records = 0;
    snn_stream_reader *r = snn_stream_reader_open(fp, name, err);
    int rc = r ? SNN_OK : err->code;
    snn_record rec;
    while (rc == SNN_OK) {
        rc = snn_stream_read(r, &rec, err);
        if (rc == SNN_OK)
            (*records)++;
    }
    snn_stream_reader_close(r);
    fclose(fp);
    return rc;
}

static snn_stream_info make_info(uint32_t kind)
{
    snn_stream_info info = {.kind = kind, .model_fingerprint = 0x1122334455667788ULL};
    if (kind == SNN_STREAM_TOKENS || kind == SNN_STREAM_TEXT)
        info.vocab_fingerprint = 0xa5a5a5a5deadbeefULL;
    if (kind == SNN_STREAM_TOKENS)
        info.model_fingerprint = 0;
    if (kind == SNN_STREAM_IMAGE || kind == SNN_STREAM_TEXT) {
        info.time_steps = 2;
        info.value_bits = kind == SNN_STREAM_IMAGE ? 1 : 3;
        info.readout[0] = 2.3026f;
        info.readout[1] = 1.9f;
    }
    if (kind != SNN_STREAM_TOKENS && kind != SNN_STREAM_SCORES)
        info.dim = 5;
    return info;
}

/* ---- bit packing */

static void test_bitpack_hand_cases(void)
{
    const uint8_t ones[9] = {1, 0, 1, 1, 0, 0, 0, 0, 1};
    uint8_t out[4] = {0xff, 0xff, 0xff, 0xff};
    CHECK_INT(snn_bitpack_size(9, 1), 2);
    CHECK_INT(snn_bitpack(out, ones, 9, 1), 9);
    CHECK_INT(out[0], 0x0d);
    CHECK_INT(out[1], 0x01);

    /* 5, 2, 7 in 3 bits: bits 0-2 = 101, 3-5 = 010, 6-8 = 111. */
    const uint8_t threes[3] = {5, 2, 7};
    CHECK_INT(snn_bitpack_size(3, 3), 2);
    CHECK_INT(snn_bitpack(out, threes, 3, 3), 3);
    CHECK_INT(out[0], 0xd5);
    CHECK_INT(out[1], 0x01);

    const uint8_t fours[3] = {0x3, 0xa, 0xf};
    CHECK_INT(snn_bitpack(out, fours, 3, 4), 3);
    CHECK_INT(out[0], 0xa3);
    CHECK_INT(out[1], 0x0f);

    const uint8_t too_big[4] = {1, 0, 2, 1};
    CHECK_INT(snn_bitpack(out, too_big, 4, 1), 2);
    const uint8_t too_big3[3] = {7, 8, 0};
    CHECK_INT(snn_bitpack(out, too_big3, 3, 3), 1);

    uint8_t back[3];
    const uint8_t padded[2] = {0xd5, 0x03}; /* bit 9 set: padding after 3 values */
    CHECK_INT(snn_bitunpack(back, padded, 3, 3), -1);
    const uint8_t clean[2] = {0xd5, 0x01};
    CHECK_INT(snn_bitunpack(back, clean, 3, 3), 0);
    CHECK_INT(back[0], 5);
    CHECK_INT(back[1], 2);
    CHECK_INT(back[2], 7);
}

static void test_bitpack_round_trip(void)
{
    uint8_t values[300], packed[300], back[300];
    for (unsigned bits = 1; bits <= 8; bits++) {
        for (size_t count = 0; count <= 70; count++) {
            for (size_t i = 0; i < count; i++)
                values[i] = (uint8_t)(rng() & ((1u << bits) - 1));
            uint64_t size = snn_bitpack_size(count, bits);
            CHECK_INT(size, (count * bits + 7) / 8);
            memset(packed, 0xee, sizeof packed);
            CHECK_INT(snn_bitpack(packed, values, count, bits), count);
            CHECK_INT(packed[size], 0xee); /* nothing written past the end */
            CHECK_INT(snn_bitunpack(back, packed, count, bits), 0);
            CHECK(memcmp(values, back, count) == 0);

            /* Bit k of the packed data is bit k%8 of byte k/8, LSB-first values. */
            for (size_t i = 0; i < count; i++) {
                unsigned v = 0;
                for (unsigned b = 0; b < bits; b++) {
                    size_t k = i * bits + b;
                    v |= (unsigned)((packed[k / 8] >> (k % 8)) & 1) << b;
                }
                if (v != values[i]) {
                    CHECK_INT(v, values[i]);
                    break;
                }
            }
        }
    }
}

/* ---- round trips */

typedef struct {
    snn_record rec;
    char id[32], key[32];
    void *data;
} owned_record;

static void fill_record(owned_record *o, const snn_stream_info *info, size_t index)
{
    uint32_t n = index == 1 ? 0 : 1 + rng() % 9; /* record 2 is empty */
    snprintf(o->id, sizeof o->id, "item-%zu.png", index);
    if (index % 3)
        snprintf(o->key, sizeof o->key, "k%zu", index / 2);
    else
        o->key[0] = '\0'; /* an empty key */
    memset(&o->rec, 0, sizeof o->rec);
    o->rec.id = o->id;
    o->rec.key = o->key;
    o->rec.n = n;

    uint32_t kind = info->kind;
    size_t count = kind == SNN_STREAM_IMAGE || kind == SNN_STREAM_TEXT
                       ? (size_t)info->time_steps * n * info->dim
                   : kind == SNN_STREAM_FUSED ? (size_t)n * info->dim
                                              : n;
    if (kind == SNN_STREAM_IMAGE || kind == SNN_STREAM_TEXT) {
        uint8_t *v = malloc(count + 1);
        for (size_t i = 0; i < count; i++)
            v[i] = (uint8_t)(rng() & ((1u << info->value_bits) - 1));
        o->rec.values = v;
        o->data = v;
    } else if (kind == SNN_STREAM_TOKENS) {
        uint32_t *t = malloc(4 * count + 4);
        for (size_t i = 0; i < count; i++)
            t[i] = rng() % 30522;
        o->rec.tokens = t;
        o->data = t;
    } else {
        float *f = malloc(4 * count + 4);
        for (size_t i = 0; i < count; i++)
            f[i] = (float)(int32_t)rng() / 1e6f;
        o->rec.floats = f;
        o->data = f;
    }
}

static size_t payload_bytes(const snn_stream_info *info, const snn_record *rec)
{
    switch (info->kind) {
    case SNN_STREAM_IMAGE:
    case SNN_STREAM_TEXT: return (size_t)info->time_steps * rec->n * info->dim;
    case SNN_STREAM_FUSED: return 4 * (size_t)rec->n * info->dim;
    default: return 4 * (size_t)rec->n;
    }
}

static const void *payload_of(const snn_record *rec)
{
    return rec->values ? (const void *)rec->values
         : rec->tokens ? (const void *)rec->tokens
                       : (const void *)rec->floats;
}

static void test_round_trip_kind(uint32_t kind)
{
    snn_stream_info info = make_info(kind);
    owned_record recs[6];
    snn_record plain[6];
    for (size_t i = 0; i < 6; i++) {
        fill_record(&recs[i], &info, i);
        plain[i] = recs[i].rec;
    }
    size_t len = 0;
    uint8_t *z = write_stream(&info, plain, 6, &len);

    FILE *fp = file_from_bytes(z, len);
    snn_error err = {0};
    snn_stream_reader *r = snn_stream_reader_open(fp, "rt.snn", &err);
    CHECK(r != NULL);
    if (r) {
        const snn_stream_info *got = snn_stream_reader_info(r);
        CHECK_INT(got->kind, kind);
        CHECK_INT(got->model_fingerprint, info.model_fingerprint);
        CHECK_INT(got->vocab_fingerprint, info.vocab_fingerprint);
        CHECK_INT(got->time_steps, info.time_steps);
        CHECK_INT(got->dim, info.dim);
        CHECK_INT(got->value_bits, info.value_bits);
        CHECK(memcmp(got->readout, info.readout, sizeof info.readout) == 0);
        for (size_t i = 0; i < 6; i++) {
            snn_record rec;
            CHECK_INT(snn_stream_read(r, &rec, &err), SNN_OK);
            CHECK_STR(rec.id, plain[i].id);
            CHECK_STR(rec.key, plain[i].key);
            CHECK_INT(rec.n, plain[i].n);
            CHECK(payload_of(&rec) != NULL);
            CHECK(memcmp(payload_of(&rec), payload_of(&plain[i]), payload_bytes(&info, &rec)) == 0);
        }
        snn_record rec;
        CHECK_INT(snn_stream_read(r, &rec, &err), SNN_EOF);
        CHECK_INT(snn_stream_read(r, &rec, &err), SNN_EOF);
        CHECK_INT(snn_stream_reader_count(r), 6);
    }
    snn_stream_reader_close(r);
    fclose(fp);
    free(z);
    for (size_t i = 0; i < 6; i++)
        free(recs[i].data);
}

static void test_round_trip_all_bits(void)
{
    for (uint32_t bits = 1; bits <= 8; bits++) {
        snn_stream_info info = make_info(SNN_STREAM_TEXT);
        info.value_bits = bits;
        info.time_steps = 1 + bits % 3;
        owned_record o;
        fill_record(&o, &info, 0);
        size_t len = 0, records = 0;
        uint8_t *z = write_stream(&info, &o.rec, 1, &len);
        snn_error err = {0};
        CHECK_INT(read_all(z, len, "bits.snn", &records, &err), SNN_EOF);
        CHECK_INT(records, 1);
        free(z);
        free(o.data);
    }
}

/* ---- the byte layout of the man page */

/* A TEXT stream, T=2, D=3, value_bits=2, one record: id "a", key "k", n=1,
 * values 0 1 2 3 1 0 packed into e4 01. */
static const uint8_t tiny_values[6] = {0, 1, 2, 3, 1, 0};

static snn_stream_info tiny_info(void)
{
    snn_stream_info info = {.kind = SNN_STREAM_TEXT, .model_fingerprint = 0x0102030405060708ULL,
                            .vocab_fingerprint = 0x1112131415161718ULL, .time_steps = 2,
                            .dim = 3, .value_bits = 2, .readout = {2.5f, -1.0f}};
    return info;
}

static void test_layout_matches_man_page(void)
{
    snn_stream_info info = tiny_info();
    snn_record rec = {.id = "a", .key = "k", .n = 1, .values = tiny_values};
    size_t zlen = 0, len = 0;
    uint8_t *z = write_stream(&info, &rec, 1, &zlen);
    CHECK(get32(z) == 0xfd2fb528u); /* a zstd frame */
    uint8_t *p = zdecompress(z, zlen, &len);
    CHECK_INT(len, 128);

    CHECK(memcmp(p, "SNNSTRM\n", 8) == 0);
    CHECK_INT(get32(p + 8), 1);
    CHECK_INT(get32(p + 12), SNN_STREAM_TEXT);
    CHECK(get64(p + 16) == 0x0102030405060708ULL);
    CHECK(get64(p + 24) == 0x1112131415161718ULL);
    CHECK_INT(get32(p + 32), 2);
    CHECK_INT(get32(p + 36), 3);
    CHECK_INT(get32(p + 40), 2);
    CHECK(getf(p + 44) == 2.5f);
    CHECK(getf(p + 48) == -1.0f);
    for (int t = 2; t < 8; t++)
        CHECK_INT(get32(p + 44 + 4 * t), 0);
    CHECK_INT(get32(p + 76), (uint32_t)crc32(0, p, 76));

    CHECK(memcmp(p + 80, "RECD", 4) == 0);
    CHECK_INT(get32(p + 84), 1);
    CHECK_INT(get32(p + 88), 1);
    CHECK_INT(get32(p + 92), 1);
    CHECK_INT(get64(p + 96), 2);
    CHECK_INT(p[104], 'a');
    CHECK_INT(p[105], 'k');
    CHECK_INT(p[106], 0xe4);
    CHECK_INT(p[107], 0x01);
    CHECK_INT(get32(p + 108), (uint32_t)crc32(0, p + 80, 28));

    CHECK(memcmp(p + 112, "TAIL", 4) == 0);
    CHECK_INT(get64(p + 116), 1);
    CHECK_INT(get32(p + 124), (uint32_t)crc32(0, p, 124));
    free(p);
    free(z);
}

/* The tiny record again as text spikes with features (kind 7): the payload is
 * the two packed bytes, then the three feature floats, each little-endian. */
static void test_features_layout(void)
{
    snn_stream_info info = tiny_info();
    info.kind = SNN_STREAM_TEXT_FEATURES;
    static const float feats[3] = {1.5f, -2.0f, 0.25f};
    snn_record rec = {.id = "a", .key = "k", .n = 1, .values = tiny_values, .floats = feats};
    size_t zlen = 0, len = 0;
    uint8_t *z = write_stream(&info, &rec, 1, &zlen);
    uint8_t *p = zdecompress(z, zlen, &len);
    CHECK_INT(len, 140);
    CHECK_INT(get32(p + 12), 7);
    CHECK_INT(get64(p + 96), 14);
    CHECK_INT(p[106], 0xe4);
    CHECK_INT(p[107], 0x01);
    static const uint8_t le_floats[12] = {0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,
                                          0x00, 0x00, 0x80, 0x3e};
    CHECK(memcmp(p + 108, le_floats, 12) == 0);
    CHECK_INT(get32(p + 120), (uint32_t)crc32(0, p + 80, 40));

    FILE *fp = file_from_bytes(z, zlen);
    snn_error err = {0};
    snn_stream_reader *r = snn_stream_reader_open(fp, "f.snn", &err);
    snn_record got;
    CHECK(r != NULL);
    CHECK_INT(r ? snn_stream_read(r, &got, &err) : -1, SNN_OK);
    if (r && got.values && got.floats) {
        CHECK(memcmp(got.values, tiny_values, 6) == 0);
        CHECK(memcmp(got.floats, feats, sizeof feats) == 0);
    } else {
        CHECK(!"the record has no values or no floats");
    }
    snn_stream_reader_close(r);
    fclose(fp);
    free(p);
    free(z);

    CHECK_INT(snn_stream_modality(SNN_STREAM_IMAGE_FEATURES), SNN_STREAM_IMAGE);
    CHECK_INT(snn_stream_modality(SNN_STREAM_TEXT_FEATURES), SNN_STREAM_TEXT);
    CHECK_INT(snn_stream_modality(SNN_STREAM_FUSED), SNN_STREAM_FUSED);
    CHECK_INT(snn_stream_has_features(SNN_STREAM_TEXT), 0);
}

/* A record of a features stream needs both arrays. */
static void test_features_required(void)
{
    snn_stream_info info = tiny_info();
    info.kind = SNN_STREAM_IMAGE_FEATURES;
    info.vocab_fingerprint = 0;
    char *buf = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&buf, &size);
    snn_error err = {0};
    snn_stream_writer *w = snn_stream_writer_open(fp, &info, 3, &err);
    CHECK(w != NULL);
    snn_record rec = {.id = "a", .key = "k", .n = 1, .values = tiny_values};
    CHECK_INT(w ? snn_stream_write(w, &rec, &err) : -1, SNN_EINVAL);
    CHECK(strstr(err.msg, "values and floats") != NULL);
    snn_stream_writer_close(w, &err);
    fclose(fp);
    free(buf);
}

/* Builds the plain bytes of the tiny stream by hand, as a reader written from
 * the man page alone would expect them. Returns the length (128). */
static size_t build_tiny_plain(uint8_t *p)
{
    memset(p, 0, 128);
    memcpy(p, "SNNSTRM\n", 8);
    put32(p + 8, 1);
    put32(p + 12, SNN_STREAM_TEXT);
    put64(p + 16, 0x0102030405060708ULL);
    put64(p + 24, 0x1112131415161718ULL);
    put32(p + 32, 2);
    put32(p + 36, 3);
    put32(p + 40, 2);
    float readout[2] = {2.5f, -1.0f};
    memcpy(p + 44, readout, 8); /* the test hosts are little-endian */
    put32(p + 76, (uint32_t)crc32(0, p, 76));

    memcpy(p + 80, "RECD", 4);
    put32(p + 84, 1);
    put32(p + 88, 1);
    put32(p + 92, 1);
    put64(p + 96, 2);
    p[104] = 'a';
    p[105] = 'k';
    p[106] = 0xe4;
    p[107] = 0x01;
    put32(p + 108, (uint32_t)crc32(0, p + 80, 28));

    memcpy(p + 112, "TAIL", 4);
    put64(p + 116, 1);
    put32(p + 124, (uint32_t)crc32(0, p, 124));
    return 128;
}

static void test_hand_built_stream_reads(void)
{
    uint8_t plain[128];
    size_t zlen = 0;
    uint8_t *z = zcompress(plain, build_tiny_plain(plain), &zlen);
    FILE *fp = file_from_bytes(z, zlen);
    snn_error err = {0};
    snn_stream_reader *r = snn_stream_reader_open(fp, "hand.snn", &err);
    CHECK(r != NULL);
    if (r) {
        snn_record rec;
        CHECK_INT(snn_stream_read(r, &rec, &err), SNN_OK);
        CHECK_STR(rec.id, "a");
        CHECK_STR(rec.key, "k");
        CHECK_INT(rec.n, 1);
        CHECK(memcmp(rec.values, tiny_values, 6) == 0);
        CHECK(snn_stream_reader_info(r)->readout[0] == 2.5f);
        CHECK_INT(snn_stream_read(r, &rec, &err), SNN_EOF);
    }
    snn_stream_reader_close(r);
    fclose(fp);
    free(z);
}

/* ---- truncation, corruption, wrong input */

static void check_error(int rc, int code, const snn_error *err, const char *part)
{
    CHECK_INT(rc, code);
    if (!strstr(err->msg, part)) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err->msg, part);
        CHECK(0);
    }
}

static void test_truncation_every_offset(void)
{
    snn_stream_info info = make_info(SNN_STREAM_IMAGE);
    owned_record recs[3];
    snn_record plain[3];
    for (size_t i = 0; i < 3; i++) {
        fill_record(&recs[i], &info, i);
        plain[i] = recs[i].rec;
    }
    size_t zlen = 0, len = 0, records = 0;
    uint8_t *z = write_stream(&info, plain, 3, &zlen);
    uint8_t *p = zdecompress(z, zlen, &len);

    snn_error err = {0};
    CHECK_INT(read_all(z, zlen, "cut.snn", &records, &err), SNN_EOF);
    CHECK_INT(records, 3);

    /* Cuts in the compressed bytes. */
    for (size_t cut = 0; cut < zlen; cut++) {
        memset(&err, 0, sizeof err);
        int rc = read_all(z, cut, "cut.snn", &records, &err);
        CHECK(rc != SNN_OK);
        CHECK(rc != SNN_EOF);
        if (rc == SNN_EOF)
            fprintf(stderr, "compressed cut at %zu of %zu read as complete\n", cut, zlen);
        CHECK(strncmp(err.msg, "cut.snn: ", 9) == 0);
    }

    /* Cuts in the decompressed bytes, each recompressed as a whole zstd frame,
     * so that only the trailer's absence reveals them. */
    for (size_t cut = 0; cut < len; cut++) {
        size_t clen = 0;
        uint8_t *c = zcompress(p, cut, &clen);
        memset(&err, 0, sizeof err);
        int rc = read_all(c, clen, "cut.snn", &records, &err);
        CHECK_INT(rc, SNN_EFORMAT);
        CHECK(strncmp(err.msg, "cut.snn: ", 9) == 0);
        if (cut > 80)
            CHECK(strstr(err.msg, "truncated stream") != NULL);
        free(c);
    }

    memset(&err, 0, sizeof err);
    uint8_t *c = zcompress(p, len - 16, &zlen); /* the trailer cut off */
    check_error(read_all(c, zlen, "txt.snn", &records, &err), SNN_EFORMAT, &err,
                "txt.snn: record 4: truncated stream (no trailer): the file was cut off; "
                "re-run the program that wrote it");
    CHECK_INT(records, 3);
    free(c);
    free(p);
    free(z);
    for (size_t i = 0; i < 3; i++)
        free(recs[i].data);
}

static void test_flipped_byte_fails_crc(void)
{
    uint8_t plain[128];
    size_t len = build_tiny_plain(plain), zlen = 0, records = 0;
    snn_error err = {0};

    plain[106] ^= 0x10; /* a payload byte */
    uint8_t *z = zcompress(plain, len, &zlen);
    check_error(read_all(z, zlen, "flip.snn", &records, &err), SNN_EFORMAT, &err,
                "flip.snn: record 1: corrupt record (CRC32 mismatch)");
    CHECK_INT(records, 0);
    free(z);

    build_tiny_plain(plain);
    plain[20] ^= 0x01; /* the model fingerprint in the header */
    z = zcompress(plain, len, &zlen);
    check_error(read_all(z, zlen, "flip.snn", &records, &err), SNN_EFORMAT, &err,
                "flip.snn: corrupt header (CRC32 mismatch)");
    free(z);

    build_tiny_plain(plain);
    plain[118] ^= 0x01; /* the trailer's record count */
    z = zcompress(plain, len, &zlen);
    check_error(read_all(z, zlen, "flip.snn", &records, &err), SNN_EFORMAT, &err,
                "corrupt trailer");
    free(z);

    build_tiny_plain(plain);
    plain[125] ^= 0x01; /* the trailer's CRC */
    z = zcompress(plain, len, &zlen);
    check_error(read_all(z, zlen, "flip.snn", &records, &err), SNN_EFORMAT, &err,
                "CRC32 in the trailer");
    free(z);
}

/* Every byte of a stream is under some CRC32, so any flipped bit is an error. */
static void test_every_flipped_bit_detected(void)
{
    snn_stream_info info = make_info(SNN_STREAM_FUSED);
    owned_record recs[2];
    snn_record plain[2];
    for (size_t i = 0; i < 2; i++) {
        fill_record(&recs[i], &info, i + 2);
        plain[i] = recs[i].rec;
    }
    size_t zlen = 0, len = 0, records = 0;
    uint8_t *z = write_stream(&info, plain, 2, &zlen);
    uint8_t *p = zdecompress(z, zlen, &len);
    for (size_t at = 0; at < len; at++) {
        p[at] ^= (uint8_t)(1u << (at % 8));
        size_t clen = 0;
        uint8_t *c = zcompress(p, len, &clen);
        snn_error err = {0};
        int rc = read_all(c, clen, "bit.snn", &records, &err);
        if (rc == SNN_OK || rc == SNN_EOF) {
            fprintf(stderr, "flipped bit in byte %zu of %zu not detected\n", at, len);
            CHECK(0);
        }
        free(c);
        p[at] ^= (uint8_t)(1u << (at % 8));
    }
    free(p);
    free(z);
    for (size_t i = 0; i < 2; i++)
        free(recs[i].data);
}

static void test_wrong_inputs(void)
{
    snn_error err = {0};
    size_t records = 0, zlen = 0;
    const char *text = "not a stream at all\n";
    check_error(read_all((const uint8_t *)text, strlen(text), "in.txt", &records, &err),
                SNN_EFORMAT, &err, "in.txt: not a zstd-compressed stream");
    check_error(read_all(NULL, 0, "empty.snn", &records, &err), SNN_EFORMAT, &err,
                "empty.snn: empty input (0 bytes)");

    uint8_t plain[128];
    size_t len = build_tiny_plain(plain);
    check_error(read_all(plain, len, "plain.snn", &records, &err), SNN_EFORMAT, &err,
                "without its zstd compression");

    uint8_t *z = zcompress((const uint8_t *)text, strlen(text), &zlen);
    check_error(read_all(z, zlen, "other.zst", &records, &err), SNN_EFORMAT, &err,
                "other.zst: not an snn stream");
    free(z);

    put32(plain + 8, 2);
    z = zcompress(plain, len, &zlen);
    check_error(read_all(z, zlen, "v2.snn", &records, &err), SNN_EFORMAT, &err,
                "v2.snn: unsupported stream format version 2 (this build reads version 1)");
    free(z);

    /* A valid CRC over a header that breaks the field rules (value_bits 9). */
    build_tiny_plain(plain);
    put32(plain + 40, 9);
    put32(plain + 76, (uint32_t)crc32(0, plain, 76));
    z = zcompress(plain, len, &zlen);
    check_error(read_all(z, zlen, "bits.snn", &records, &err), SNN_EFORMAT, &err,
                "bits.snn: invalid header: value_bits = 9");
    free(z);

    /* Garbage after a complete stream. */
    size_t tlen = 0;
    snn_stream_info info = tiny_info();
    snn_record rec = {.id = "a", .key = "k", .n = 1, .values = tiny_values};
    uint8_t *t = write_stream(&info, &rec, 1, &tlen);
    uint8_t *joined = malloc(tlen + 4);
    memcpy(joined, t, tlen);
    memcpy(joined + tlen, "junk", 4);
    check_error(read_all(joined, tlen + 4, "junk.snn", &records, &err), SNN_EFORMAT, &err,
                "junk.snn: record 2: corrupt zstd data");
    CHECK_INT(records, 1);
    free(joined);
    free(t);
}

/* Rewrites the record head of the tiny stream and returns the read status. */
static int read_with_head(uint32_t id_len, uint32_t key_len, uint32_t n, uint64_t payload,
                          snn_error *err)
{
    uint8_t plain[128];
    size_t len = build_tiny_plain(plain), zlen = 0, records = 0;
    put32(plain + 84, id_len);
    put32(plain + 88, key_len);
    put32(plain + 92, n);
    put64(plain + 96, payload);
    uint8_t *z = zcompress(plain, len, &zlen);
    int rc = read_all(z, zlen, "lim.snn", &records, err);
    free(z);
    return rc;
}

static void test_limits_before_allocation(void)
{
    snn_error err = {0};
    check_error(read_with_head(5000, 1, 1, 2, &err), SNN_EFORMAT, &err,
                "lim.snn: record 1: corrupt record: id length 5000 is outside 1..4096");
    check_error(read_with_head(0, 1, 1, 2, &err), SNN_EFORMAT, &err, "id length 0");
    check_error(read_with_head(1, 0xffffffffu, 1, 2, &err), SNN_EFORMAT, &err, "key length");
    check_error(read_with_head(1, 1, 70000, 2, &err), SNN_ENOMEM, &err,
                "70000 rows exceed the limit of 65536");
    check_error(read_with_head(1, 1, 1, 1ULL << 40, &err), SNN_EFORMAT, &err,
                "payload length 1099511627776 bytes, but 1 rows of text spikes take 2 bytes");

    /* Fused floats at the row limit and the widest D exceed the payload limit. */
    snn_stream_info info = {.kind = SNN_STREAM_FUSED, .dim = 65536};
    char *buf = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&buf, &size);
    snn_stream_writer *w = snn_stream_writer_open(fp, &info, 1, &err);
    float dummy = 0;
    snn_record rec = {.id = "x", .n = 65536, .floats = &dummy};
    check_error(snn_stream_write(w, &rec, &err), SNN_ENOMEM, &err,
                "record 1: payload of 17179869184 bytes (65536 rows) exceeds the limit of 256 MiB");
    CHECK_INT(snn_stream_writer_close(w, &err), SNN_OK);
    fclose(fp);
    free(buf);
}

static void test_writer_rejects(void)
{
    snn_error err = {0};
    snn_stream_info info = make_info(SNN_STREAM_FUSED);
    info.time_steps = 2;
    CHECK(snn_stream_writer_open(stdout, &info, 3, &err) == NULL);
    check_error(err.code, SNN_EINVAL, &err, "time steps T is 2 in a fused features stream");

    info = make_info(SNN_STREAM_IMAGE);
    info.value_bits = 0;
    CHECK(snn_stream_writer_open(stdout, &info, 3, &err) == NULL);
    check_error(err.code, SNN_EINVAL, &err, "value_bits = 0: it must be 1..8");

    info = make_info(SNN_STREAM_IMAGE);
    CHECK(snn_stream_writer_open(stdout, &info, 99, &err) == NULL);
    check_error(err.code, SNN_EINVAL, &err, "zstd level 99");

    /* A rejected record leaves the stream usable. */
    char *buf = NULL;
    size_t size = 0, records = 0;
    FILE *fp = open_memstream(&buf, &size);
    snn_stream_writer *w = snn_stream_writer_open(fp, &info, 3, &err);
    uint8_t values[20] = {0};
    values[7] = 2;
    snn_record rec = {.id = "img.png", .key = "7", .n = 2, .values = values};
    check_error(snn_stream_write(w, &rec, &err), SNN_EINVAL, &err,
                "record 1: spike value 2 at index 7 does not fit in value_bits = 1 (maximum 1)");
    snn_record no_id = {.n = 0};
    check_error(snn_stream_write(w, &no_id, &err), SNN_EINVAL, &err, "the record has no id");
    values[7] = 1;
    CHECK_INT(snn_stream_write(w, &rec, &err), SNN_OK);
    CHECK_INT(snn_stream_writer_close(w, &err), SNN_OK);
    fclose(fp);
    CHECK_INT(read_all((uint8_t *)buf, size, "ok.snn", &records, &err), SNN_EOF);
    CHECK_INT(records, 1);
    free(buf);
}

/* ---- concatenation */

static void test_concatenation(void)
{
    snn_stream_info info = make_info(SNN_STREAM_TOKENS);
    owned_record recs[5];
    snn_record plain[5];
    for (size_t i = 0; i < 5; i++) {
        fill_record(&recs[i], &info, i);
        plain[i] = recs[i].rec;
    }
    size_t alen = 0, elen = 0, blen = 0;
    uint8_t *a = write_stream(&info, plain, 3, &alen);
    uint8_t *e = write_stream(&info, NULL, 0, &elen); /* an empty shard */
    uint8_t *b = write_stream(&info, plain + 3, 2, &blen);
    uint8_t *all = malloc(alen + elen + blen);
    memcpy(all, a, alen);
    memcpy(all + alen, e, elen);
    memcpy(all + alen + elen, b, blen);

    FILE *fp = file_from_bytes(all, alen + elen + blen);
    snn_error err = {0};
    snn_stream_reader *r = snn_stream_reader_open(fp, "cat.snn", &err);
    CHECK(r != NULL);
    for (size_t i = 0; r && i < 5; i++) {
        snn_record rec;
        CHECK_INT(snn_stream_read(r, &rec, &err), SNN_OK);
        CHECK_STR(rec.id, plain[i].id);
        CHECK_INT(rec.n, plain[i].n);
        CHECK(memcmp(rec.tokens, plain[i].tokens, 4 * rec.n) == 0);
    }
    snn_record rec;
    if (r)
        CHECK_INT(snn_stream_read(r, &rec, &err), SNN_EOF);
    snn_stream_reader_close(r);
    fclose(fp);

    /* The same second part from another vocabulary. */
    snn_stream_info other = info;
    other.vocab_fingerprint ^= 1;
    size_t olen = 0, records = 0;
    uint8_t *o = write_stream(&other, plain + 3, 2, &olen);
    memcpy(all + alen, o, olen);
    check_error(read_all(all, alen + olen, "cat.snn", &records, &err), SNN_EMODEL, &err,
                "cat.snn: record 4: stream 2 of the concatenated input was written by another "
                "model or program (it has vocabulary fingerprint");
    CHECK_INT(records, 3);
    free(o);

    /* An image stream after a token stream. */
    snn_stream_info image = make_info(SNN_STREAM_IMAGE);
    o = write_stream(&image, NULL, 0, &olen);
    all = realloc(all, alen + olen);
    memcpy(all + alen, o, olen);
    check_error(read_all(all, alen + olen, "mix.snn", &records, &err), SNN_EMODEL, &err,
                "it has kind image spikes, the first stream has token ids");

    /* Equal in all but one readout weight. */
    snn_stream_info t1 = make_info(SNN_STREAM_TEXT), t2 = t1;
    t2.readout[1] = 1.5f;
    free(a);
    free(o);
    a = write_stream(&t1, NULL, 0, &alen);
    o = write_stream(&t2, NULL, 0, &olen);
    all = realloc(all, alen + olen);
    memcpy(all, a, alen);
    memcpy(all + alen, o, olen);
    check_error(read_all(all, alen + olen, "ro.snn", &records, &err), SNN_EMODEL, &err,
                "different temporal readout weights");

    free(a);
    free(b);
    free(e);
    free(o);
    free(all);
    for (size_t i = 0; i < 5; i++)
        free(recs[i].data);
}

/* ---- a pipe, with records large enough to span many zstd blocks */

static void write_big_stream(FILE *fp, const snn_stream_info *info, int records)
{
    size_t count = (size_t)info->time_steps * 1000 * info->dim;
    uint8_t *values = malloc(count);
    snn_error err = {0};
    snn_stream_writer *w = snn_stream_writer_open(fp, info, 1, &err);
    for (int i = 0; i < records; i++) {
        for (size_t j = 0; j < count; j++)
            values[j] = (uint8_t)(((j * 7 + (size_t)i * 13) & 7) | (rng() & 8));
        char id[32];
        snprintf(id, sizeof id, "r%d", i);
        snn_record rec = {.id = id, .key = id, .n = 1000, .values = values};
        if (snn_stream_write(w, &rec, &err) != SNN_OK)
            break;
    }
    snn_stream_writer_close(w, &err);
    free(values);
}

static void test_read_from_pipe(void)
{
    snn_stream_info info = make_info(SNN_STREAM_IMAGE);
    info.value_bits = 4;
    info.dim = 256;
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        FILE *out = fdopen(fds[1], "wb");
        write_big_stream(out, &info, 12);
        fclose(out);
        _exit(0);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "rb");
    snn_error err = {0};
    snn_stream_reader *r = snn_stream_reader_open(in, "pipe", &err);
    CHECK(r != NULL);
    int rc = SNN_OK, records = 0;
    snn_record rec;
    while (r && (rc = snn_stream_read(r, &rec, &err)) == SNN_OK) {
        char id[32];
        snprintf(id, sizeof id, "r%d", records);
        CHECK_STR(rec.id, id);
        CHECK_INT(rec.n, 1000);
        size_t bad = 0;
        for (size_t j = 0; j < (size_t)2 * 1000 * 256; j++)
            bad += (rec.values[j] & 7) != ((j * 7 + (size_t)records * 13) & 7);
        CHECK_INT(bad, 0);
        records++;
    }
    CHECK_INT(rc, SNN_EOF);
    CHECK_INT(records, 12);
    snn_stream_reader_close(r);
    fclose(in);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK_INT(status, 0);
}

static void test_fingerprint_and_names(void)
{
    /* FNV-1a 64 of "a" and of "foobar" (published test vectors). */
    CHECK(snn_fnv1a64(SNN_FNV1A64_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(snn_fnv1a64(SNN_FNV1A64_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
    CHECK(snn_fnv1a64(snn_fnv1a64(SNN_FNV1A64_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ULL);
    CHECK_STR(snn_stream_kind_name(SNN_STREAM_IMAGE), "image spikes");
    CHECK_STR(snn_stream_kind_name(99), "unknown kind");
}

int main(void)
{
    test_bitpack_hand_cases();
    test_bitpack_round_trip();
    for (uint32_t kind = SNN_STREAM_TOKENS; kind <= SNN_STREAM_SCORES; kind++)
        test_round_trip_kind(kind);
    test_round_trip_all_bits();
    test_layout_matches_man_page();
    test_features_layout();
    test_features_required();
    test_hand_built_stream_reads();
    test_truncation_every_offset();
    test_flipped_byte_fails_crc();
    test_every_flipped_bit_detected();
    test_wrong_inputs();
    test_limits_before_allocation();
    test_writer_rejects();
    test_concatenation();
    test_read_from_pipe();
    test_fingerprint_and_names();
    CHECK_DONE();
}
