/* Internal to the stream reader and writer: the on-disk layout constants of
 * format version 1 (man/snn-stream.5), little-endian field access, and the
 * header and payload rules that both sides share. Not for use by programs. */
#ifndef SNN_STREAM_FORMAT_H
#define SNN_STREAM_FORMAT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "stream.h"

#define STREAM_MAGIC "SNNSTRM\n"       /* 8 bytes, no terminating NUL on disk */
#define STREAM_MAGIC_SIZE 8
#define STREAM_HEADER_SIZE 80          /* magic .. header CRC32 */
#define STREAM_RECORD_HEAD_SIZE 24     /* tag, id length, key length, n, payload length */
#define STREAM_TRAILER_SIZE 16         /* tag, record count, stream CRC32 */
#define STREAM_TAG_RECORD "RECD"
#define STREAM_TAG_TRAILER "TAIL"
#define STREAM_TAG_SIZE 4

static inline void stream_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void stream_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t stream_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t stream_get_u64(const uint8_t *p)
{
    return (uint64_t)stream_get_u32(p) | (uint64_t)stream_get_u32(p + 4) << 32;
}

/* Floats travel as the bits of an IEEE 754 binary32, little-endian. */
static inline void stream_put_f32(uint8_t *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    stream_put_u32(p, bits);
}

static inline float stream_get_f32(const uint8_t *p)
{
    uint32_t bits = stream_get_u32(p);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Serialises a checked header into STREAM_HEADER_SIZE bytes, CRC included.
 * Readout weights past time_steps are written as zero. */
void snn_stream_header_encode(uint8_t *out, const snn_stream_info *info);

/* Fails with SNN_EFORMAT unless version is the one this build reads. */
int snn_stream_version_check(uint32_t version, snn_error *err);

/* Parses the STREAM_HEADER_SIZE bytes of a header whose magic already matched:
 * version, CRC, then the field rules. The message has no input-name prefix. */
int snn_stream_header_decode(snn_stream_info *info, const uint8_t *in, snn_error *err);

/* Checks the per-kind field rules (which of T, D, value_bits are set, ranges). */
int snn_stream_info_check(const snn_stream_info *info, snn_error *err);

/* Returns 1 when two headers describe the same data, else 0 with the first
 * difference, as b's value then a's, written to what. */
int snn_stream_info_same(const snn_stream_info *a, const snn_stream_info *b, char *what,
                         size_t what_size);

/* Sizes of a record of n rows: bytes on disk and bytes once decoded in memory.
 * Fails with SNN_ENOMEM when n or the decoded size is over the limits. */
int snn_stream_payload_size(const snn_stream_info *info, uint32_t n, uint64_t *disk_bytes,
                            uint64_t *memory_bytes, snn_error *err);

/* Number of values in a record of n rows: T*n*D for spikes, n*D for fused
 * features, n for tokens and scores. */
uint64_t snn_stream_value_count(const snn_stream_info *info, uint32_t n);

/* The decompressed byte source under a reader: raw input from fp through one
 * zstd decompression context, which decodes concatenated frames in sequence. */
typedef struct {
    FILE *fp;
    ZSTD_DCtx *dctx;
    uint8_t *raw;          /* compressed input read from fp */
    size_t raw_cap, raw_pos, raw_end;
    uint8_t *out;          /* decompressed bytes not yet handed out */
    size_t out_cap, out_pos, out_end;
    size_t frame_left;     /* last ZSTD_decompressStream result: 0 at a frame boundary */
    int flush_pending;     /* the decoder filled out and may hold more output */
    int raw_eof;           /* fp reached its end */
    int started;           /* the first raw bytes were checked for the zstd magic */
} snn_stream_input;

int snn_stream_input_init(snn_stream_input *in, FILE *fp, snn_error *err);
void snn_stream_input_free(snn_stream_input *in);

/* Copies up to n decompressed bytes to dst, fewer (*got < n) only at the end
 * of the input. Fails on read errors, on input that is not zstd, and on corrupt zstd
 * data. The message has no input-name prefix. */
int snn_stream_input_read(snn_stream_input *in, void *dst, size_t n, size_t *got, snn_error *err);

/* Returns 1 when every raw byte was consumed and the last zstd frame is whole. */
int snn_stream_input_complete(const snn_stream_input *in);

#endif
