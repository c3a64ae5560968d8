/* Model files in the safetensors layout: an 8-byte little-endian header length, a
 * JSON header naming each tensor's dtype, shape and data_offsets plus a
 * "__metadata__" object of string values, then the raw little-endian tensor data.
 * The header is padded with spaces so the data starts 8-byte aligned. */
#ifndef SNN_SAFETENSORS_H
#define SNN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "snn.h"

#define SNN_ST_MAX_DIMS 8

typedef struct {
    const char *name;
    const char *dtype; /* "F32", "I32", "I64", "U8", "F16", ... */
    int ndim;
    int64_t shape[SNN_ST_MAX_DIMS];
    const void *data;  /* little-endian bytes */
    size_t nbytes;     /* must equal product(shape) * dtype size */
} snn_st_tensor;

typedef struct {
    const char *key, *value;
} snn_st_meta;

/* Writes a file atomically (temporary name, fsync, rename). Tensors are written in
 * the order given; names must be unique. */
int snn_st_write(const char *path, const snn_st_tensor *tensors, size_t count,
                 const snn_st_meta *meta, size_t meta_count, snn_error *err);

/* Returns the size in bytes of one element of dtype (BOOL, U8, I8, F8_E4M3,
 * F8_E5M2, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64), or 0 when the
 * dtype is unknown. */
size_t snn_st_dtype_size(const char *dtype);

/* Limit on the JSON header length in bytes (100 MB), checked before the header
 * is allocated. */
#define SNN_ST_MAX_HEADER 100000000

typedef struct snn_st_file snn_st_file;

/* Reads and validates a whole file: JSON syntax, dtypes, shapes, offsets that are
 * in bounds, contiguous, non-overlapping and agree with the byte sizes. */
int snn_st_read(snn_st_file **out, const char *path, snn_error *err);
size_t snn_st_count(const snn_st_file *f);
const snn_st_tensor *snn_st_get(const snn_st_file *f, size_t i);
const snn_st_tensor *snn_st_find(const snn_st_file *f, const char *name);
/* Returns the metadata value for key, or NULL. */
const char *snn_st_meta_get(const snn_st_file *f, const char *key);
size_t snn_st_meta_count(const snn_st_file *f);
const snn_st_meta *snn_st_meta_at(const snn_st_file *f, size_t i);
/* Hash of the header and data bytes as stored. */
uint64_t snn_st_fingerprint(const snn_st_file *f);
void snn_st_free(snn_st_file *f);

#endif
