#include "encode.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

void encode_stream_info(snn_stream_info *info, const snn_model *m, uint32_t kind)
{
    const snn_config *c = &m->cfg;
    uint32_t modality = snn_stream_modality(kind);
    const float *readout = modality == SNN_STREAM_IMAGE ? m->img.readout : m->txt.readout;
    memset(info, 0, sizeof *info);
    info->kind = kind;
    info->model_fingerprint = m->fingerprint;
    info->vocab_fingerprint = modality == SNN_STREAM_TEXT ? c->vocab_fingerprint : 0;
    info->time_steps = (uint32_t)c->time_steps;
    info->dim = (uint32_t)c->dim;
    info->value_bits = (uint32_t)snn_config_value_bits(c);
    memcpy(info->readout, readout, (size_t)c->time_steps * sizeof(float));
}

void encode_write_batch(snn_stream_writer *w, const snn_enc_out *out, const snn_model *m,
                        const char *const *ids, const char *const *keys, int features,
                        const char *output_name)
{
    int T = m->cfg.time_steps, D = m->cfg.dim;
    size_t N = out->N;
    for (int b = 0; b < out->B; b++) {
        size_t n = (size_t)(out->off[b + 1] - out->off[b]);
        uint8_t *values = malloc((size_t)T * n * D + 1);
        if (!values) {
            cli_error("out of memory writing %s", output_name);
            exit(CLI_FAILED);
        }
        /* The block output holds small whole numbers: sums of binary spike maps. */
        for (int t = 0; t < T; t++) {
            const float *src = out->spikes + ((size_t)t * N + out->off[b]) * D;
            for (size_t i = 0; i < n * D; i++)
                values[(size_t)t * n * D + i] = (uint8_t)src[i];
        }
        snn_record rec = {.id = ids[b], .key = keys[b], .n = (uint32_t)n, .values = values};
        if (features)
            rec.floats = out->feat_raw + (size_t)out->off[b] * D;
        snn_error err;
        int rc = snn_stream_write(w, &rec, &err);
        free(values);
        if (rc) {
            snn_fail_prefix(&err, "%s", output_name);
            cli_die(&err);
        }
    }
}

snn_model *encode_load_model(const char *path)
{
    if (!path)
        cli_usage_error("missing -m MODEL");
    snn_model *m;
    snn_error err;
    if (snn_model_load(&m, path, &err))
        cli_die(&err);
    /* TODO: ANN-mode models produce real-valued outputs that the spike stream
     * cannot carry; they need the float payload of fused streams. */
    if (m->cfg.ann) {
        cli_error("%s: ANN-mode models cannot be encoded to spike streams", path);
        exit(CLI_FAILED);
    }
    return m;
}

uint32_t encode_kind(uint32_t modality, int features)
{
    if (!features)
        return modality;
    return modality == SNN_STREAM_IMAGE ? SNN_STREAM_IMAGE_FEATURES : SNN_STREAM_TEXT_FEATURES;
}
