/* Reading one record: the fixed head, its limits (checked before any
 * allocation), the id, key and payload, the record CRC32, and the payload
 * decoded into host order. */
#include "stream_reader.h"

#include <inttypes.h>
#include <stdlib.h>
#include <zlib.h>

typedef struct {
    uint32_t id_len, key_len, n;
    uint64_t payload_len;
    uint64_t disk_bytes, memory_bytes; /* expected from n and the header */
} record_head;

static int check_head(const snn_stream_reader *r, record_head *h, snn_error *err)
{
    if (h->id_len < 1 || h->id_len > SNN_STREAM_MAX_ID)
        return snn_fail(err, SNN_EFORMAT, "corrupt record: id length %" PRIu32
                        " is outside 1..%d bytes", h->id_len, SNN_STREAM_MAX_ID);
    if (h->key_len > SNN_STREAM_MAX_ID)
        return snn_fail(err, SNN_EFORMAT, "corrupt record: key length %" PRIu32
                        " exceeds the limit of %d bytes", h->key_len, SNN_STREAM_MAX_ID);

    int rc = snn_stream_payload_size(&r->info, h->n, &h->disk_bytes, &h->memory_bytes, err);
    if (rc != SNN_OK)
        return rc;
    if (h->payload_len != h->disk_bytes)
        return snn_fail(err, SNN_EFORMAT, "corrupt record: payload length %" PRIu64
                        " bytes, but %" PRIu32 " rows of %s take %" PRIu64 " bytes",
                        h->payload_len, h->n, snn_stream_kind_name(r->info.kind), h->disk_bytes);
    return SNN_OK;
}

/* Grows *buf to at least size bytes, keeping the larger of the two. */
static int reserve(uint8_t **buf, size_t *cap, uint64_t size, snn_error *err)
{
    if (size <= *cap)
        return SNN_OK;
    uint8_t *p = realloc(*buf, (size_t)size);
    if (!p)
        return snn_fail(err, SNN_ENOMEM, "out of memory for a record payload of %" PRIu64 " bytes",
                        size);
    *buf = p;
    *cap = (size_t)size;
    return SNN_OK;
}

static int read_strings(snn_stream_reader *r, const record_head *h, snn_error *err)
{
    int rc = snn_stream_take(r, r->id, h->id_len, 1, err);
    if (rc == SNN_OK)
        rc = snn_stream_take(r, r->key, h->key_len, 1, err);
    if (rc != SNN_OK)
        return rc;
    r->id[h->id_len] = '\0';
    r->key[h->key_len] = '\0';
    return SNN_OK;
}

static int check_crc(const snn_stream_reader *r, const uint8_t *head, const record_head *h,
                     uint32_t stored, snn_error *err)
{
    uLong crc = crc32(0, head, STREAM_RECORD_HEAD_SIZE);
    crc = crc32(crc, (const Bytef *)r->id, h->id_len);
    crc = crc32(crc, (const Bytef *)r->key, h->key_len);
    /* zlib takes 32-bit lengths, which payloads under SNN_STREAM_MAX_PAYLOAD fit. */
    crc = crc32(crc, r->payload, (uInt)h->payload_len);
    if ((uint32_t)crc != stored)
        return snn_fail(err, SNN_EFORMAT, "corrupt record (CRC32 mismatch): the file is damaged; "
                        "re-run the program that wrote it");

    /* Checked after the CRC, since strings come back to callers as C strings. */
    if (memchr(r->id, '\0', h->id_len) || memchr(r->key, '\0', h->key_len))
        return snn_fail(err, SNN_EFORMAT, "invalid record: its id or key contains a NUL byte");
    return SNN_OK;
}

/* Converts the payload to host order and fills rec's data pointer. */
static int decode_payload(snn_stream_reader *r, const record_head *h, snn_record *rec,
                          snn_error *err)
{
    uint64_t count = snn_stream_value_count(&r->info, h->n);
    uint32_t kind = r->info.kind;
    if (snn_stream_modality(kind) == SNN_STREAM_IMAGE
        || snn_stream_modality(kind) == SNN_STREAM_TEXT) {
        /* Features follow the values in the same buffer, from a 4-byte boundary. */
        uint64_t at = (count + 3) & ~(uint64_t)3;
        int rc = reserve(&r->values, &r->values_cap, h->memory_bytes + 3, err);
        if (rc != SNN_OK)
            return rc;
        if (snn_bitunpack(r->values, r->payload, count, r->info.value_bits) != 0)
            return snn_fail(err, SNN_EFORMAT, "invalid record: the unused bits after the last "
                            "packed value are not zero");
        rec->values = r->values;
        if (snn_stream_has_features(kind)) {
            const uint8_t *src = r->payload + snn_bitpack_size(count, r->info.value_bits);
            float *dst = (float *)(void *)(r->values + at);
            for (uint64_t i = 0; i < (uint64_t)h->n * r->info.dim; i++)
                dst[i] = stream_get_f32(src + 4 * i);
            rec->floats = dst;
        }
        return SNN_OK;
    }

    /* Tokens and floats: 4-byte little-endian words, converted in place. */
    uint32_t *words = (uint32_t *)(void *)r->payload;
    for (uint64_t i = 0; i < count; i++)
        words[i] = stream_get_u32(r->payload + 4 * i);
    if (kind == SNN_STREAM_TOKENS)
        rec->tokens = words;
    else
        rec->floats = (const float *)(const void *)words;
    return SNN_OK;
}

static int read_record(snn_stream_reader *r, const uint8_t *tag, snn_record *rec, snn_error *err)
{
    uint8_t head[STREAM_RECORD_HEAD_SIZE];
    memcpy(head, tag, STREAM_TAG_SIZE);
    int rc = snn_stream_take(r, head + 4, STREAM_RECORD_HEAD_SIZE - 4, 1, err);
    if (rc != SNN_OK)
        return rc;

    record_head h = {stream_get_u32(head + 4), stream_get_u32(head + 8), stream_get_u32(head + 12),
                     stream_get_u64(head + 16), 0, 0};
    rc = check_head(r, &h, err);
    if (rc == SNN_OK)
        rc = read_strings(r, &h, err);
    if (rc == SNN_OK)
        rc = reserve(&r->payload, &r->payload_cap, h.disk_bytes, err);
    if (rc == SNN_OK)
        rc = snn_stream_take(r, r->payload, (size_t)h.disk_bytes, 1, err);

    uint8_t stored[4];
    if (rc == SNN_OK)
        rc = snn_stream_take(r, stored, 4, 1, err);
    if (rc == SNN_OK)
        rc = check_crc(r, head, &h, stream_get_u32(stored), err);
    if (rc != SNN_OK)
        return rc;

    memset(rec, 0, sizeof *rec);
    rec->id = r->id;
    rec->key = r->key;
    rec->n = h.n;
    return decode_payload(r, &h, rec, err);
}

int snn_stream_read(snn_stream_reader *r, snn_record *rec, snn_error *err)
{
    if (r->state == SNN_EOF)
        return SNN_EOF;
    if (r->state != SNN_OK)
        return snn_fail(err, r->state, "%s: reading stopped at record %" PRIu64
                        " after an earlier error", r->name, r->records + 1);

    for (;;) {
        uint8_t tag[STREAM_TAG_SIZE];
        int rc = snn_stream_take(r, tag, STREAM_TAG_SIZE, 1, err);
        if (rc == SNN_OK && memcmp(tag, STREAM_TAG_RECORD, STREAM_TAG_SIZE) == 0) {
            rc = read_record(r, tag, rec, err);
            if (rc != SNN_OK)
                return snn_stream_reader_fail(r, rc, err);
            r->records++;
            r->stream_records++;
            return SNN_OK;
        }
        if (rc == SNN_OK && memcmp(tag, STREAM_TAG_TRAILER, STREAM_TAG_SIZE) != 0)
            rc = snn_fail(err, SNN_EFORMAT, "corrupt stream (a record or the trailer should "
                          "start here, found bytes %02x %02x %02x %02x): the file is damaged; "
                          "re-run the program that wrote it", tag[0], tag[1], tag[2], tag[3]);

        int end = 0;
        if (rc == SNN_OK)
            rc = snn_stream_read_trailer(r, err);
        if (rc == SNN_OK)
            rc = snn_stream_next_stream(r, &end, err);
        if (rc != SNN_OK)
            return snn_stream_reader_fail(r, rc, err);
        if (end) {
            r->state = SNN_EOF;
            return SNN_EOF;
        }
    }
}
