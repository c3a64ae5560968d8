/* Stream writer: one zstd frame per stream (content checksum on), holding the
 * header, one record per snn_stream_write call, and the trailer. A record is
 * checked and encoded in full before any of its bytes go to the compressor, so
 * a rejected record leaves the stream intact. */
#include "stream_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <zlib.h>

struct snn_stream_writer {
    FILE *fp;
    ZSTD_CCtx *cctx;
    uint8_t *out;         /* compressed bytes on their way to fp */
    size_t out_cap;
    snn_stream_info info;
    uint64_t records;
    uint32_t stream_crc;  /* CRC32 of every stream byte written so far */
    uint8_t *payload;     /* the current record's payload as on disk */
    size_t payload_cap;
    int broken;           /* set after an output error, which leaves the stream unfinishable */
};

/* Compresses n bytes (none with ZSTD_e_end, which then finishes the frame) and
 * writes what the compressor hands back. */
static int feed(snn_stream_writer *w, const void *data, size_t n, ZSTD_EndDirective mode,
                snn_error *err)
{
    ZSTD_inBuffer src = {data, n, 0};
    size_t left;
    do {
        ZSTD_outBuffer dst = {w->out, w->out_cap, 0};
        left = ZSTD_compressStream2(w->cctx, &dst, &src, mode);
        if (ZSTD_isError(left)) {
            w->broken = 1;
            return snn_fail(err, SNN_EIO, "zstd compression failed: %s", ZSTD_getErrorName(left));
        }
        if (dst.pos && fwrite(w->out, 1, dst.pos, w->fp) != dst.pos) {
            w->broken = 1;
            return snn_fail(err, SNN_EIO, "write failed: %s", strerror(errno));
        }
    } while (mode == ZSTD_e_end ? left != 0 : src.pos < src.size);

    if (mode != ZSTD_e_end)
        w->stream_crc = (uint32_t)crc32(w->stream_crc, data, (uInt)n);
    return SNN_OK;
}

static int setup_cctx(snn_stream_writer *w, int level, snn_error *err)
{
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return snn_fail(err, SNN_EINVAL, "zstd level %d: it must be %d..%d", level,
                        ZSTD_minCLevel(), ZSTD_maxCLevel());
    w->cctx = ZSTD_createCCtx();
    w->out_cap = ZSTD_CStreamOutSize();
    w->out = malloc(w->out_cap);
    if (!w->cctx || !w->out)
        return snn_fail(err, SNN_ENOMEM, "out of memory for the zstd compressor");
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    return SNN_OK;
}

static void writer_free(snn_stream_writer *w)
{
    ZSTD_freeCCtx(w->cctx);
    free(w->out);
    free(w->payload);
    free(w);
}

snn_stream_writer *snn_stream_writer_open(FILE *fp, const snn_stream_info *info, int level,
                                          snn_error *err)
{
    if (snn_stream_info_check(info, err) != SNN_OK)
        return NULL;
    snn_stream_writer *w = snn_zalloc(1, sizeof *w);
    if (!w) {
        snn_fail(err, SNN_ENOMEM, "out of memory for a stream writer");
        return NULL;
    }
    w->fp = fp;
    w->info = *info;

    uint8_t header[STREAM_HEADER_SIZE];
    snn_stream_header_encode(header, info);
    int rc = setup_cctx(w, level, err);
    if (rc == SNN_OK)
        rc = feed(w, header, sizeof header, ZSTD_e_continue, err);
    if (rc != SNN_OK) {
        writer_free(w);
        return NULL;
    }
    return w;
}

/* The payload pointer that a stream of this kind uses. */
static const void *record_data(uint32_t kind, const snn_record *rec)
{
    switch (kind) {
    case SNN_STREAM_TOKENS: return rec->tokens;
    case SNN_STREAM_IMAGE:
    case SNN_STREAM_TEXT: return rec->values;
    case SNN_STREAM_IMAGE_FEATURES:
    case SNN_STREAM_TEXT_FEATURES: return rec->floats ? rec->values : NULL;
    default: return rec->floats;
    }
}

static int check_record(const snn_stream_writer *w, const snn_record *rec, size_t *id_len,
                        size_t *key_len, snn_error *err)
{
    if (!rec->id)
        return snn_fail(err, SNN_EINVAL, "the record has no id");
    *id_len = strlen(rec->id);
    *key_len = rec->key ? strlen(rec->key) : 0;
    if (*id_len < 1 || *id_len > SNN_STREAM_MAX_ID)
        return snn_fail(err, SNN_EINVAL, "id of %zu bytes: it must be 1..%d bytes", *id_len,
                        SNN_STREAM_MAX_ID);
    if (*key_len > SNN_STREAM_MAX_ID)
        return snn_fail(err, SNN_EINVAL, "key of %zu bytes: it must be at most %d bytes",
                        *key_len, SNN_STREAM_MAX_ID);

    if (!record_data(w->info.kind, rec) && snn_stream_value_count(&w->info, rec->n) > 0)
        return snn_fail(err, SNN_EINVAL, "the record has n = %" PRIu32 " but no %s data%s",
                        rec->n, snn_stream_kind_name(w->info.kind),
                        snn_stream_has_features(w->info.kind) ? " (values and floats)" : "");
    return SNN_OK;
}

/* Encodes the payload into w->payload: bit-packed spike values, or 4-byte
 * little-endian words for tokens and floats. */
static int encode_payload(snn_stream_writer *w, const snn_record *rec, uint64_t disk_bytes,
                          snn_error *err)
{
    if (disk_bytes > w->payload_cap) {
        uint8_t *p = realloc(w->payload, (size_t)disk_bytes);
        if (!p)
            return snn_fail(err, SNN_ENOMEM, "out of memory for a payload of %" PRIu64 " bytes",
                            disk_bytes);
        w->payload = p;
        w->payload_cap = (size_t)disk_bytes;
    }

    uint64_t count = snn_stream_value_count(&w->info, rec->n);
    uint32_t kind = w->info.kind;
    if (snn_stream_modality(kind) == SNN_STREAM_IMAGE
        || snn_stream_modality(kind) == SNN_STREAM_TEXT) {
        size_t bad = snn_bitpack(w->payload, rec->values, count, w->info.value_bits);
        if (bad < count)
            return snn_fail(err, SNN_EINVAL, "spike value %u at index %zu does not fit in "
                            "value_bits = %" PRIu32 " (maximum %u)", (unsigned)rec->values[bad],
                            bad, w->info.value_bits, (1u << w->info.value_bits) - 1);
        /* Features: n*D floats right after the packed values. */
        uint8_t *p = w->payload + snn_bitpack_size(count, w->info.value_bits);
        for (uint64_t i = 0; snn_stream_has_features(kind) && i < (uint64_t)rec->n * w->info.dim;
             i++)
            stream_put_f32(p + 4 * i, rec->floats[i]);
        return SNN_OK;
    }

    const uint32_t *words = kind == SNN_STREAM_TOKENS ? rec->tokens
                                                      : (const uint32_t *)(const void *)rec->floats;
    for (uint64_t i = 0; i < count; i++)
        stream_put_u32(w->payload + 4 * i, words[i]);
    return SNN_OK;
}

static int write_record(snn_stream_writer *w, const snn_record *rec, snn_error *err)
{
    size_t id_len = 0, key_len = 0;
    uint64_t disk_bytes = 0, memory_bytes = 0;
    int rc = check_record(w, rec, &id_len, &key_len, err);
    if (rc == SNN_OK)
        rc = snn_stream_payload_size(&w->info, rec->n, &disk_bytes, &memory_bytes, err);
    if (rc == SNN_OK)
        rc = encode_payload(w, rec, disk_bytes, err);
    if (rc != SNN_OK)
        return rc;

    uint8_t head[STREAM_RECORD_HEAD_SIZE], crc_bytes[4];
    memcpy(head, STREAM_TAG_RECORD, STREAM_TAG_SIZE);
    stream_put_u32(head + 4, (uint32_t)id_len);
    stream_put_u32(head + 8, (uint32_t)key_len);
    stream_put_u32(head + 12, rec->n);
    stream_put_u64(head + 16, disk_bytes);
    uLong crc = crc32(0, head, sizeof head);
    crc = crc32(crc, (const Bytef *)rec->id, (uInt)id_len);
    crc = crc32(crc, (const Bytef *)(rec->key ? rec->key : ""), (uInt)key_len);
    crc = crc32(crc, w->payload, (uInt)disk_bytes);
    stream_put_u32(crc_bytes, (uint32_t)crc);

    rc = feed(w, head, sizeof head, ZSTD_e_continue, err);
    if (rc == SNN_OK)
        rc = feed(w, rec->id, id_len, ZSTD_e_continue, err);
    if (rc == SNN_OK && key_len)
        rc = feed(w, rec->key, key_len, ZSTD_e_continue, err);
    if (rc == SNN_OK)
        rc = feed(w, w->payload, (size_t)disk_bytes, ZSTD_e_continue, err);
    if (rc == SNN_OK)
        rc = feed(w, crc_bytes, sizeof crc_bytes, ZSTD_e_continue, err);
    return rc;
}

int snn_stream_write(snn_stream_writer *w, const snn_record *rec, snn_error *err)
{
    if (w->broken)
        return snn_fail(err, SNN_EIO, "record %" PRIu64 ": the stream is unusable after an "
                        "earlier write error", w->records + 1);
    int rc = write_record(w, rec, err);
    if (rc != SNN_OK) {
        snn_fail_prefix(err, "record %" PRIu64, w->records + 1);
        return rc;
    }
    w->records++;
    return SNN_OK;
}

int snn_stream_writer_close(snn_stream_writer *w, snn_error *err)
{
    if (!w)
        return SNN_OK;
    int rc = SNN_OK;
    if (w->broken)
        rc = snn_fail(err, SNN_EIO, "the stream is unusable after an earlier write error");

    uint8_t trailer[STREAM_TRAILER_SIZE];
    memcpy(trailer, STREAM_TAG_TRAILER, STREAM_TAG_SIZE);
    stream_put_u64(trailer + 4, w->records);
    if (rc == SNN_OK)
        rc = feed(w, trailer, 12, ZSTD_e_continue, err);
    stream_put_u32(trailer + 12, w->stream_crc);
    if (rc == SNN_OK)
        rc = feed(w, trailer + 12, 4, ZSTD_e_continue, err);
    if (rc == SNN_OK)
        rc = feed(w, NULL, 0, ZSTD_e_end, err);
    if (rc == SNN_OK && fflush(w->fp) != 0)
        rc = snn_fail(err, SNN_EIO, "write failed: %s", strerror(errno));
    writer_free(w);
    return rc;
}
