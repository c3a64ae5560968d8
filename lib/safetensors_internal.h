/* Internal to the safetensors reader and writer. Not for use by programs. */
#ifndef SNN_SAFETENSORS_INTERNAL_H
#define SNN_SAFETENSORS_INTERNAL_H

#include "safetensors.h"

struct snn_st_file {
    snn_st_tensor *tensors; /* in header order, with owned names and dtypes */
    size_t count;
    snn_st_meta *meta;      /* keys and values owned */
    size_t meta_count;
    uint8_t *data;          /* every tensor's bytes, each at a 16-byte aligned place */
    uint64_t fingerprint;   /* FNV-1a 64 of the file bytes */
};

/* A tensor's data_offsets, relative to the start of the data section. */
typedef struct {
    uint64_t begin, end;
    size_t index; /* into snn_st_file.tensors */
} snn_st_span;

/* Computes product(shape) * elem_size into *bytes. Returns 0, or -1 on a
 * negative dimension or overflow. A zero dimension gives 0 bytes. */
int snn_st_expected_bytes(const int64_t *shape, int ndim, size_t elem_size, uint64_t *bytes);

/* Parses the JSON header into f's tensors (data not yet read) and metadata, and
 * checks that the spans tile [0, data_size) exactly. *spans receives them
 * sorted by offset (the caller frees it). */
int snn_st_parse_header(snn_st_file *f, const char *json, size_t json_len, uint64_t data_size,
                        snn_st_span **spans, snn_error *err);

#endif
