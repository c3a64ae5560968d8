/* Internal to the stream reader (stream_read.c, stream_record.c): its state and
 * the steps that the record loop calls. Not for use by programs. */
#ifndef SNN_STREAM_READER_H
#define SNN_STREAM_READER_H

#include "stream_format.h"

struct snn_stream_reader {
    snn_stream_input in;
    char *name;               /* input name for messages */
    snn_stream_info info;     /* the first header, which later ones must match */
    uint64_t records;         /* records returned, over all streams */
    uint64_t stream_records;  /* records in the current stream */
    unsigned streams;         /* headers read */
    uint32_t stream_crc;      /* CRC32 of the current stream's bytes read so far */
    int state;                /* SNN_OK, SNN_EOF once finished, or the error that stopped it */
    char *id, *key;           /* SNN_STREAM_MAX_ID + 1 bytes each */
    uint8_t *payload;         /* the current payload as on disk, decoded in place
                               * for tokens and floats */
    size_t payload_cap;
    uint8_t *values;          /* unpacked spike values */
    size_t values_cap;
};

/* Reads exactly n decompressed bytes, adding them to the stream CRC when
 * checksum is set. Running out of input is a truncation error. */
int snn_stream_take(snn_stream_reader *r, void *dst, size_t n, int checksum, snn_error *err);

int snn_stream_read_trailer(snn_stream_reader *r, snn_error *err);
int snn_stream_next_stream(snn_stream_reader *r, int *end, snn_error *err);

/* Prefixes err with "NAME: record N", stops the reader and returns rc. */
int snn_stream_reader_fail(snn_stream_reader *r, int rc, snn_error *err);

#endif
