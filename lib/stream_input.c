/* The reader's byte source: fread into a fixed buffer, ZSTD_decompressStream into
 * another, so memory stays at the two zstd-recommended buffer sizes plus the
 * decoder's window whatever the input length. */
#include "stream_format.h"

#include <errno.h>
#include <stdlib.h>

static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

int snn_stream_input_init(snn_stream_input *in, FILE *fp, snn_error *err)
{
    memset(in, 0, sizeof *in);
    in->fp = fp;
    in->dctx = ZSTD_createDCtx();
    in->raw_cap = ZSTD_DStreamInSize();
    in->out_cap = ZSTD_DStreamOutSize();
    in->raw = malloc(in->raw_cap);
    in->out = malloc(in->out_cap);
    if (!in->dctx || !in->raw || !in->out) {
        snn_stream_input_free(in);
        return snn_fail(err, SNN_ENOMEM, "out of memory for the zstd decoder");
    }
    return SNN_OK;
}

void snn_stream_input_free(snn_stream_input *in)
{
    ZSTD_freeDCtx(in->dctx);
    free(in->raw);
    free(in->out);
    memset(in, 0, sizeof *in);
}

/* Rejects input that does not start like a zstd frame, so that a text file or a
 * decompressed stream gets a message saying what it is instead of a zstd error.
 * Skippable frames (magic 0x184D2A50..5F) are accepted, as zstd accepts them. */
static int check_zstd_magic(const uint8_t *p, size_t n, snn_error *err)
{
    if (n == 0)
        return snn_fail(err, SNN_EFORMAT, "empty input (0 bytes) where an snn stream was expected: "
                        "check the program that should have written it");
    if (n >= STREAM_MAGIC_SIZE && memcmp(p, STREAM_MAGIC, STREAM_MAGIC_SIZE) == 0)
        return snn_fail(err, SNN_EFORMAT, "an snn stream without its zstd compression: "
                        "compress it again with zstd, or use the file as the program wrote it");

    size_t m = n < 4 ? n : 4;
    int skippable = n >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18;
    if (memcmp(p, zstd_magic, m) == 0 || skippable)
        return SNN_OK;
    return snn_fail(err, SNN_EFORMAT,
                    "not a zstd-compressed stream (the first bytes are not the zstd magic number "
                    "28 b5 2f fd): give the output of an snn-* program");
}

static int refill_raw(snn_stream_input *in, snn_error *err)
{
    in->raw_pos = 0;
    in->raw_end = fread(in->raw, 1, in->raw_cap, in->fp);
    if (in->raw_end < in->raw_cap) {
        if (ferror(in->fp))
            return snn_fail(err, SNN_EIO, "read failed: %s", strerror(errno));
        in->raw_eof = 1;
    }
    if (!in->started) {
        in->started = 1;
        return check_zstd_magic(in->raw, in->raw_end, err);
    }
    return SNN_OK;
}

/* Decompresses until out contains at least one byte, or leaves it empty at the end
 * of the input. */
static int produce(snn_stream_input *in, snn_error *err)
{
    in->out_pos = in->out_end = 0;
    for (;;) {
        if (in->raw_pos == in->raw_end && !in->raw_eof && !in->flush_pending) {
            int rc = refill_raw(in, err);
            if (rc != SNN_OK)
                return rc;
        }
        if (in->raw_pos == in->raw_end && !in->flush_pending)
            return SNN_OK;

        ZSTD_inBuffer src = {in->raw, in->raw_end, in->raw_pos};
        ZSTD_outBuffer dst = {in->out, in->out_cap, 0};
        size_t ret = ZSTD_decompressStream(in->dctx, &dst, &src);
        if (ZSTD_isError(ret))
            return snn_fail(err, SNN_EFORMAT, "corrupt zstd data (%s): the file is damaged; "
                            "re-run the program that wrote it", ZSTD_getErrorName(ret));
        in->raw_pos = src.pos;
        in->frame_left = ret;
        in->flush_pending = dst.pos == dst.size;
        in->out_end = dst.pos;
        if (dst.pos > 0)
            return SNN_OK;
    }
}

int snn_stream_input_read(snn_stream_input *in, void *dst, size_t n, size_t *got, snn_error *err)
{
    uint8_t *p = dst;
    size_t done = 0;
    while (done < n) {
        if (in->out_pos == in->out_end) {
            int rc = produce(in, err);
            if (rc != SNN_OK) {
                *got = done;
                return rc;
            }
            if (in->out_end == 0)
                break;
        }
        size_t take = in->out_end - in->out_pos;
        if (take > n - done)
            take = n - done;
        memcpy(p + done, in->out + in->out_pos, take);
        in->out_pos += take;
        done += take;
    }
    *got = done;
    return SNN_OK;
}

int snn_stream_input_complete(const snn_stream_input *in)
{
    return in->raw_eof && in->raw_pos == in->raw_end && !in->flush_pending &&
           in->out_pos == in->out_end && in->frame_left == 0;
}
