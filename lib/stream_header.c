/* Stream header: the per-kind field rules, the header bytes of format version 1,
 * the comparison of two headers for concatenation, and record payload sizes. */
#include "stream_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <zlib.h>

uint64_t snn_fnv1a64(uint64_t hash, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

const char *snn_stream_kind_name(uint32_t kind)
{
    switch (kind) {
    case SNN_STREAM_TOKENS: return "token ids";
    case SNN_STREAM_IMAGE: return "image spikes";
    case SNN_STREAM_TEXT: return "text spikes";
    case SNN_STREAM_FUSED: return "fused features";
    case SNN_STREAM_SCORES: return "scores";
    case SNN_STREAM_IMAGE_FEATURES: return "image spikes with features";
    case SNN_STREAM_TEXT_FEATURES: return "text spikes with features";
    default: return "unknown kind";
    }
}

uint32_t snn_stream_modality(uint32_t kind)
{
    if (kind == SNN_STREAM_IMAGE_FEATURES)
        return SNN_STREAM_IMAGE;
    if (kind == SNN_STREAM_TEXT_FEATURES)
        return SNN_STREAM_TEXT;
    return kind;
}

int snn_stream_has_features(uint32_t kind)
{
    return kind == SNN_STREAM_IMAGE_FEATURES || kind == SNN_STREAM_TEXT_FEATURES;
}

static int is_spike_kind(uint32_t kind)
{
    kind = snn_stream_modality(kind);
    return kind == SNN_STREAM_IMAGE || kind == SNN_STREAM_TEXT;
}

/* A field that must be zero for this kind. */
static int check_unused(const snn_stream_info *info, const char *field, uint32_t value,
                        snn_error *err)
{
    if (value == 0)
        return SNN_OK;
    return snn_fail(err, SNN_EINVAL, "%s is %" PRIu32 " in a %s stream: it must be 0 for this kind",
                    field, value, snn_stream_kind_name(info->kind));
}

static int check_spike_fields(const snn_stream_info *info, snn_error *err)
{
    if (info->time_steps < 1 || info->time_steps > SNN_STREAM_MAX_T)
        return snn_fail(err, SNN_EINVAL, "time steps T = %" PRIu32 ": it must be 1..%d",
                        info->time_steps, SNN_STREAM_MAX_T);
    if (info->value_bits < 1 || info->value_bits > 8)
        return snn_fail(err, SNN_EINVAL, "value_bits = %" PRIu32 ": it must be 1..8",
                        info->value_bits);
    return SNN_OK;
}

int snn_stream_info_check(const snn_stream_info *info, snn_error *err)
{
    uint32_t kind = info->kind;
    if (kind < SNN_STREAM_TOKENS || kind > SNN_STREAM_TEXT_FEATURES)
        return snn_fail(err, SNN_EINVAL, "stream kind %" PRIu32 " is unknown: it must be 1..7",
                        kind);

    int rc = SNN_OK;
    if (is_spike_kind(kind))
        rc = check_spike_fields(info, err);
    else
        rc = check_unused(info, "time steps T", info->time_steps, err);
    if (rc == SNN_OK && !is_spike_kind(kind))
        rc = check_unused(info, "value_bits", info->value_bits, err);
    if (rc != SNN_OK)
        return rc;

    int needs_dim = is_spike_kind(kind) || kind == SNN_STREAM_FUSED;
    if (!needs_dim)
        return check_unused(info, "dimension D", info->dim, err);
    if (info->dim < 1 || info->dim > SNN_STREAM_MAX_DIM)
        return snn_fail(err, SNN_EINVAL, "dimension D = %" PRIu32 ": it must be 1..%d", info->dim,
                        SNN_STREAM_MAX_DIM);
    return SNN_OK;
}

void snn_stream_header_encode(uint8_t *out, const snn_stream_info *info)
{
    memcpy(out, STREAM_MAGIC, STREAM_MAGIC_SIZE);
    stream_put_u32(out + 8, SNN_STREAM_VERSION);
    stream_put_u32(out + 12, info->kind);
    stream_put_u64(out + 16, info->model_fingerprint);
    stream_put_u64(out + 24, info->vocab_fingerprint);
    stream_put_u32(out + 32, info->time_steps);
    stream_put_u32(out + 36, info->dim);
    stream_put_u32(out + 40, info->value_bits);
    for (uint32_t t = 0; t < SNN_STREAM_MAX_T; t++)
        stream_put_f32(out + 44 + 4 * t, t < info->time_steps ? info->readout[t] : 0.0f);
    stream_put_u32(out + 76, (uint32_t)crc32(0, out, 76));
}

int snn_stream_version_check(uint32_t version, snn_error *err)
{
    if (version == SNN_STREAM_VERSION)
        return SNN_OK;
    return snn_fail(err, SNN_EFORMAT,
                    "unsupported stream format version %" PRIu32 " (this build reads version %d): "
                    "use the snn-itr release that wrote it, or re-create the stream with this one",
                    version, SNN_STREAM_VERSION);
}

int snn_stream_header_decode(snn_stream_info *info, const uint8_t *in, snn_error *err)
{
    int rc = snn_stream_version_check(stream_get_u32(in + 8), err);
    if (rc != SNN_OK)
        return rc;
    uint32_t stored = stream_get_u32(in + 76);
    if (stored != (uint32_t)crc32(0, in, 76))
        return snn_fail(err, SNN_EFORMAT, "corrupt header (CRC32 mismatch): the file is damaged; "
                        "re-run the program that wrote it");

    memset(info, 0, sizeof *info);
    info->kind = stream_get_u32(in + 12);
    info->model_fingerprint = stream_get_u64(in + 16);
    info->vocab_fingerprint = stream_get_u64(in + 24);
    info->time_steps = stream_get_u32(in + 32);
    info->dim = stream_get_u32(in + 36);
    info->value_bits = stream_get_u32(in + 40);
    for (uint32_t t = 0; t < SNN_STREAM_MAX_T && t < info->time_steps; t++)
        info->readout[t] = stream_get_f32(in + 44 + 4 * t);

    /* A header that passed its CRC but breaks the field rules was written by a
     * faulty writer: report it as malformed input, not as a bad argument. */
    if (snn_stream_info_check(info, err) != SNN_OK) {
        if (err)
            err->code = SNN_EFORMAT;
        snn_fail_prefix(err, "invalid header");
        return SNN_EFORMAT;
    }
    return SNN_OK;
}

int snn_stream_info_same(const snn_stream_info *a, const snn_stream_info *b, char *what,
                         size_t what_size)
{
    if (a->kind != b->kind) {
        snprintf(what, what_size, "kind %s, the first stream has %s", snn_stream_kind_name(b->kind),
                 snn_stream_kind_name(a->kind));
        return 0;
    }
    if (a->model_fingerprint != b->model_fingerprint) {
        snprintf(what, what_size, "model fingerprint %016" PRIx64
                 ", the first stream has %016" PRIx64, b->model_fingerprint, a->model_fingerprint);
        return 0;
    }
    if (a->vocab_fingerprint != b->vocab_fingerprint) {
        snprintf(what, what_size, "vocabulary fingerprint %016" PRIx64
                 ", the first stream has %016" PRIx64, b->vocab_fingerprint, a->vocab_fingerprint);
        return 0;
    }
    if (a->time_steps != b->time_steps || a->dim != b->dim || a->value_bits != b->value_bits) {
        snprintf(what, what_size, "T=%" PRIu32 " D=%" PRIu32 " value_bits=%" PRIu32
                 ", the first stream has T=%" PRIu32 " D=%" PRIu32 " value_bits=%" PRIu32,
                 b->time_steps, b->dim, b->value_bits, a->time_steps, a->dim, a->value_bits);
        return 0;
    }
    /* Compared as bits, so that equal weights compare equal even when NaN. */
    if (memcmp(a->readout, b->readout, a->time_steps * sizeof a->readout[0]) != 0) {
        snprintf(what, what_size, "different temporal readout weights");
        return 0;
    }
    return 1;
}

uint64_t snn_stream_value_count(const snn_stream_info *info, uint32_t n)
{
    switch (snn_stream_modality(info->kind)) {
    case SNN_STREAM_IMAGE:
    case SNN_STREAM_TEXT: return (uint64_t)info->time_steps * n * info->dim;
    case SNN_STREAM_FUSED: return (uint64_t)n * info->dim;
    default: return n;
    }
}

int snn_stream_payload_size(const snn_stream_info *info, uint32_t n, uint64_t *disk_bytes,
                            uint64_t *memory_bytes, snn_error *err)
{
    if (n > SNN_STREAM_MAX_ROWS)
        return snn_fail(err, SNN_ENOMEM, "%" PRIu32 " rows exceed the limit of %d rows per record",
                        n, SNN_STREAM_MAX_ROWS);

    /* With T <= 8 and n, D <= 65536 the count stays below 2^35: no overflow. */
    uint64_t count = snn_stream_value_count(info, n);
    int spikes = is_spike_kind(info->kind);
    uint64_t features = snn_stream_has_features(info->kind) ? 4 * (uint64_t)n * info->dim : 0;
    uint64_t memory = (spikes ? count : 4 * count) + features;
    if (memory > SNN_STREAM_MAX_PAYLOAD)
        return snn_fail(err, SNN_ENOMEM,
                        "payload of %" PRIu64 " bytes (%" PRIu32 " rows) exceeds the limit "
                        "of %" PRIu64 " MiB per record: split the item into smaller records",
                        memory, n, SNN_STREAM_MAX_PAYLOAD >> 20);

    *memory_bytes = memory;
    *disk_bytes = spikes ? snn_bitpack_size(count, info->value_bits) + features : memory;
    return SNN_OK;
}
