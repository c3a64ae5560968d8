/* Stream reader: headers, trailers and the switch from one concatenated stream to
 * the next. Records themselves are parsed in stream_record.c. Every error names
 * the input and the 1-based number of the record being read. */
#include "stream_reader.h"

#include <inttypes.h>
#include <stdlib.h>
#include <zlib.h>

static const char truncated_msg[] =
    "truncated stream (no trailer): the file was cut off; re-run the program that wrote it";

/* Prefixes the message with the input name and record number, and makes the
 * reader refuse further reads: after an error its position is unknown. */
int snn_stream_reader_fail(snn_stream_reader *r, int rc, snn_error *err)
{
    snn_fail_prefix(err, "%s: record %" PRIu64, r->name, r->records + 1);
    r->state = rc;
    return rc;
}

int snn_stream_take(snn_stream_reader *r, void *dst, size_t n, int checksum, snn_error *err)
{
    size_t got = 0;
    int rc = snn_stream_input_read(&r->in, dst, n, &got, err);
    if (rc != SNN_OK)
        return rc;
    if (got < n)
        return snn_fail(err, SNN_EFORMAT, "%s", truncated_msg);
    if (checksum)
        r->stream_crc = (uint32_t)crc32(r->stream_crc, dst, (uInt)n);
    return SNN_OK;
}

/* Reads the magic number that starts a stream. *end is set when the input ended
 * cleanly before it, which is the normal end after a trailer. */
static int read_magic(snn_stream_reader *r, uint8_t *magic, int *end, snn_error *err)
{
    size_t got = 0;
    *end = 0;
    int rc = snn_stream_input_read(&r->in, magic, STREAM_MAGIC_SIZE, &got, err);
    if (rc != SNN_OK)
        return rc;
    if (got == 0 && snn_stream_input_complete(&r->in)) {
        *end = 1;
        return SNN_OK;
    }
    if (got == 0)
        return snn_fail(err, SNN_EFORMAT, "truncated stream (the last zstd frame is incomplete): "
                        "the file was cut off; re-run the program that wrote it");
    if (memcmp(magic, STREAM_MAGIC, got) != 0)
        return snn_fail(err, SNN_EFORMAT, "not an snn stream (the data does not start with the "
                        "magic number \"SNNSTRM\\n\"): give the output of an snn-* program");
    if (got < STREAM_MAGIC_SIZE)
        return snn_fail(err, SNN_EFORMAT, "%s", truncated_msg);
    return SNN_OK;
}

/* Reads the header that follows a magic number already read. The version is
 * checked before the rest is read, because another version may differ in size. */
static int read_header_body(snn_stream_reader *r, const uint8_t *magic, snn_stream_info *info,
                            snn_error *err)
{
    uint8_t buf[STREAM_HEADER_SIZE];
    memcpy(buf, magic, STREAM_MAGIC_SIZE);
    r->stream_crc = (uint32_t)crc32(0, magic, STREAM_MAGIC_SIZE);

    int rc = snn_stream_take(r, buf + 8, 4, 1, err);
    if (rc == SNN_OK)
        rc = snn_stream_version_check(stream_get_u32(buf + 8), err);
    if (rc == SNN_OK)
        rc = snn_stream_take(r, buf + 12, STREAM_HEADER_SIZE - 12, 1, err);
    if (rc == SNN_OK)
        rc = snn_stream_header_decode(info, buf, err);
    return rc;
}

static int read_first_header(snn_stream_reader *r, snn_error *err)
{
    uint8_t magic[STREAM_MAGIC_SIZE];
    int end = 0;
    int rc = read_magic(r, magic, &end, err);
    if (rc == SNN_OK && end)
        rc = snn_fail(err, SNN_EFORMAT, "the zstd data is empty where an snn stream was expected: "
                      "check the program that should have written it");
    if (rc == SNN_OK)
        rc = read_header_body(r, magic, &r->info, err);
    if (rc != SNN_OK)
        snn_fail_prefix(err, "%s", r->name);
    return rc;
}

snn_stream_reader *snn_stream_reader_open(FILE *fp, const char *name, snn_error *err)
{
    const char *label = name ? name : "(input)";
    snn_stream_reader *r = snn_zalloc(1, sizeof *r);
    if (!r) {
        snn_fail(err, SNN_ENOMEM, "%s: out of memory for a stream reader", label);
        return NULL;
    }
    r->name = strdup(label);
    r->id = malloc(SNN_STREAM_MAX_ID + 1);
    r->key = malloc(SNN_STREAM_MAX_ID + 1);
    r->payload = malloc(r->payload_cap = 64);
    r->values = malloc(r->values_cap = 64);
    if (!r->name || !r->id || !r->key || !r->payload || !r->values) {
        snn_fail(err, SNN_ENOMEM, "%s: out of memory for a stream reader", label);
        snn_stream_reader_close(r);
        return NULL;
    }

    int rc = snn_stream_input_init(&r->in, fp, err);
    if (rc != SNN_OK)
        snn_fail_prefix(err, "%s", r->name);
    if (rc == SNN_OK)
        rc = read_first_header(r, err);
    if (rc != SNN_OK) {
        snn_stream_reader_close(r);
        return NULL;
    }
    r->streams = 1;
    return r;
}

/* Checks the trailer whose tag was just read: its record count and the CRC32 of
 * every byte of the stream before the CRC field. */
int snn_stream_read_trailer(snn_stream_reader *r, snn_error *err)
{
    uint8_t buf[12];
    int rc = snn_stream_take(r, buf, 8, 1, err);
    if (rc == SNN_OK)
        rc = snn_stream_take(r, buf + 8, 4, 0, err);
    if (rc != SNN_OK)
        return rc;

    uint64_t count = stream_get_u64(buf);
    if (count != r->stream_records)
        return snn_fail(err, SNN_EFORMAT,
                        "corrupt trailer: it counts %" PRIu64 " records but stream %u holds "
                        "%" PRIu64 ": the file is damaged; re-run the program that wrote it",
                        count, r->streams, r->stream_records);
    if (stream_get_u32(buf + 8) != r->stream_crc)
        return snn_fail(err, SNN_EFORMAT, "corrupt stream (the CRC32 in the trailer of stream %u "
                        "does not match): the file is damaged; re-run the program that wrote it",
                        r->streams);
    return SNN_OK;
}

/* After a trailer: either the input ends (*end set) or another stream starts,
 * whose header must agree with the first one. */
int snn_stream_next_stream(snn_stream_reader *r, int *end, snn_error *err)
{
    uint8_t magic[STREAM_MAGIC_SIZE];
    int rc = read_magic(r, magic, end, err);
    if (rc != SNN_OK || *end)
        return rc;

    snn_stream_info info;
    rc = read_header_body(r, magic, &info, err);
    if (rc != SNN_OK)
        return rc;
    r->streams++;
    r->stream_records = 0;

    char what[200];
    if (!snn_stream_info_same(&r->info, &info, what, sizeof what))
        return snn_fail(err, SNN_EMODEL,
                        "stream %u of the concatenated input was written by another model or "
                        "program (it has %s): concatenate only streams of one kind written with "
                        "one model", r->streams, what);
    return SNN_OK;
}

const snn_stream_info *snn_stream_reader_info(const snn_stream_reader *r)
{
    return &r->info;
}

uint64_t snn_stream_reader_count(const snn_stream_reader *r)
{
    return r->records;
}

void snn_stream_reader_close(snn_stream_reader *r)
{
    if (!r)
        return;
    snn_stream_input_free(&r->in);
    free(r->name);
    free(r->id);
    free(r->key);
    free(r->payload);
    free(r->values);
    free(r);
}
