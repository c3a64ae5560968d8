/* Record streams between the programs: zstd-compressed, self-describing, readable
 * in one pass from a pipe, concatenable. The byte layout is in man/snn-stream.5.
 *
 * A stream is a header, records, and a trailer with the record count and a
 * checksum. `cat a b` of two whole streams is a valid stream when both headers
 * agree (same kind, model fingerprint and shape). Otherwise reading the second
 * header fails with SNN_EMODEL. */
#ifndef SNN_STREAM_H
#define SNN_STREAM_H

#include <stdint.h>
#include <stdio.h>

#include "snn.h"

enum {
    SNN_STREAM_TOKENS = 1, /* payload: n token ids (u32) */
    SNN_STREAM_IMAGE = 2,  /* payload: (T,n,D) spike values, value_bits bits each */
    SNN_STREAM_TEXT = 3,   /* same layout as IMAGE */
    SNN_STREAM_FUSED = 4,  /* payload: (n,D) float32 */
    SNN_STREAM_SCORES = 5, /* payload: n float32 scores */
    /* Spikes plus the (n,D) float (pre-spike) features that fusion adds
     * back. Written by snn-encode-* --features and read by snn-fuse. */
    SNN_STREAM_IMAGE_FEATURES = 6,
    SNN_STREAM_TEXT_FEATURES = 7,
};

#define SNN_STREAM_MAX_T 8
#define SNN_STREAM_MAX_ID 4096        /* bytes in an id or key */
#define SNN_STREAM_MAX_ROWS 65536     /* n per record */
#define SNN_STREAM_MAX_DIM 65536
/* Format version written, and the only one read (man/snn-stream.5). */
#define SNN_STREAM_VERSION 1
/* Size limit of one record's payload once decoded in memory: T*n*D bytes of
 * spike values, 4*n*D bytes of fused floats, 4*n bytes of tokens or scores.
 * Readers check it before allocating, and writers reject larger records. */
#define SNN_STREAM_MAX_PAYLOAD ((uint64_t)256 << 20)

typedef struct {
    uint32_t kind;
    uint64_t model_fingerprint; /* 0 when no model is involved (token streams) */
    uint64_t vocab_fingerprint; /* token and text streams; 0 otherwise */
    uint32_t time_steps;        /* T (spike streams), else 0 */
    uint32_t dim;               /* D (spike, fused streams), else 0 */
    uint32_t value_bits;        /* bits per spike value, 1..8 (spike streams), else 0 */
    float readout[SNN_STREAM_MAX_T]; /* temporal readout weights, time_steps of them */
} snn_stream_info;

typedef struct {
    const char *id;  /* record id: file name or caption id */
    const char *key; /* match key: records with equal keys belong together */
    uint32_t n;      /* token ids, spike rows per step, or float rows */
    const uint32_t *tokens;  /* TOKENS: n ids */
    const uint8_t *values;   /* IMAGE/TEXT: T*n*D values, one byte each, < 2^value_bits */
    const float *floats;     /* FUSED: n*D floats; SCORES: n floats; *_FEATURES: the
                              * n*D float features besides the spike values */
} snn_record;

typedef struct snn_stream_writer snn_stream_writer;
typedef struct snn_stream_reader snn_stream_reader;

/* Starts a stream on fp (not closed by the writer). level is the zstd level. */
snn_stream_writer *snn_stream_writer_open(FILE *fp, const snn_stream_info *info, int level,
                                          snn_error *err);
/* Appends one record; values above the header's value_bits are an error. A
 * NULL key is written as an empty one. A record rejected for its contents
 * leaves the stream intact; after an output error only close is useful. */
int snn_stream_write(snn_stream_writer *w, const snn_record *rec, snn_error *err);
/* Writes the trailer and ends the zstd frame, then frees w (also on error). */
int snn_stream_writer_close(snn_stream_writer *w, snn_error *err);

/* Starts reading fp (not closed by the reader); name is used in messages. The
 * first header is read here. */
snn_stream_reader *snn_stream_reader_open(FILE *fp, const char *name, snn_error *err);
const snn_stream_info *snn_stream_reader_info(const snn_stream_reader *r);
/* Reads the next record into rec, whose pointers stay valid until the next call.
 * Returns SNN_OK, SNN_EOF after the last complete stream, or an error naming the
 * input and the record number (truncation, corruption, a different model). */
int snn_stream_read(snn_stream_reader *r, snn_record *rec, snn_error *err);
void snn_stream_reader_close(snn_stream_reader *r);
/* Returns the number of records read so far, over all concatenated streams. */
uint64_t snn_stream_reader_count(const snn_stream_reader *r);

/* Name of a stream kind for messages ("image spikes", ...). */
const char *snn_stream_kind_name(uint32_t kind);
/* Returns SNN_STREAM_IMAGE or SNN_STREAM_TEXT for a spike kind with or
 * without features, and any other kind unchanged. */
uint32_t snn_stream_modality(uint32_t kind);
/* Returns 1 for the kinds whose records contain float features besides the
 * spikes, else 0. */
int snn_stream_has_features(uint32_t kind);

/* Bit packing of spike values, as stored in IMAGE and TEXT payloads: value i
 * takes bits [i*bits, (i+1)*bits) of the packed bytes, least significant bit
 * first, and bit k of the packed data is bit k%8 of byte k/8. Unused bits of the
 * last byte are zero. bits is 1..8. */
uint64_t snn_bitpack_size(uint64_t count, unsigned bits);
/* Packs count values into dst (snn_bitpack_size bytes). Returns count when every
 * value is below 2^bits, else the index of the first value that is not (dst is
 * then partly written). */
size_t snn_bitpack(uint8_t *dst, const uint8_t *values, size_t count, unsigned bits);
/* Unpacks count values from src. Returns 0, or -1 when an unused bit of the last
 * byte is set (the values are unpacked all the same). */
int snn_bitunpack(uint8_t *values, const uint8_t *src, size_t count, unsigned bits);

/* 64-bit FNV-1a, the hash behind model and vocabulary fingerprints. */
uint64_t snn_fnv1a64(uint64_t hash, const void *data, size_t n);
#define SNN_FNV1A64_INIT 0xcbf29ce484222325ULL

#endif
