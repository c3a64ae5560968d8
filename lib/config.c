/* Model hyperparameters: defaults, checks, and their names in model files. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void snn_config_default(snn_config *c)
{
    *c = (snn_config){
        .time_steps = 2,
        .dim = 256,
        .heads = 8,
        .ffn_hidden = 1024,
        .depth = 1,
        .image_size = 32,
        .grid = 8,
        .stem_channels = 32,
        .vocab_size = 0,
        .max_len = 32,
        .tau = 2.0f,
        .vth = 1.0f,
        .vth_attn = 0.5f,
        .surrogate_alpha = 4.0f,
        .learn_vth = 0.0f,
        .coder_vth = 0.5f,
        .attn_scale = 0.125f,
        .readout_first = 2.3026f,
        .readout_rest = 1.9f,
        .ann = 0,
        .fusion = 0,
        .bn_momentum = 0.1f,
        .sim_temperature = 0.1f,
        .loss_temperature = 0.1f,
        .margin = 0.2f,
        /* ImageNet channel statistics, the usual choice for RGB inputs. */
        .img_mean = {0.485f, 0.456f, 0.406f},
        .img_std = {0.229f, 0.224f, 0.225f},
        .vocab_fingerprint = 0,
    };
}

static int stages_of(const snn_config *c)
{
    int stages = 0, side = c->image_size;
    while (side > c->grid && side % 2 == 0) {
        side /= 2;
        stages++;
    }
    return side == c->grid ? stages : -1;
}

int snn_config_stages(const snn_config *c)
{
    return stages_of(c);
}

int snn_config_check(const snn_config *c, snn_error *err)
{
    if (c->fusion != 0 && c->fusion != 1)
        return snn_fail(err, SNN_EINVAL, "fusion must be 0 or 1, got %d", c->fusion);
    if (c->ann && c->time_steps != 1)
        return snn_fail(err, SNN_EINVAL, "ANN mode needs time_steps 1, got %d", c->time_steps);
    if (c->time_steps < 1 || c->time_steps > SNN_MAX_T)
        return snn_fail(err, SNN_EINVAL, "time_steps must be 1..%d, got %d", SNN_MAX_T,
                        c->time_steps);
    if (c->dim < 1 || c->heads < 1 || c->dim % c->heads != 0)
        return snn_fail(err, SNN_EINVAL, "dim %d must be a positive multiple of heads %d",
                        c->dim, c->heads);
    if (c->ffn_hidden < 1 || c->depth < 1 || c->depth > SNN_MAX_DEPTH)
        return snn_fail(err, SNN_EINVAL, "ffn_hidden must be > 0 and depth 1..%d (got %d, %d)",
                        SNN_MAX_DEPTH, c->ffn_hidden, c->depth);
    int stages = stages_of(c);
    if (c->grid < 1 || stages < 1 || stages > SNN_MAX_STAGES)
        return snn_fail(err, SNN_EINVAL,
                        "image_size %d must be grid %d times a power of two (2 to 2^%d)",
                        c->image_size, c->grid, SNN_MAX_STAGES);
    if (c->stem_channels < 1 || (long)c->stem_channels << (stages - 1) > 4096)
        return snn_fail(err, SNN_EINVAL, "stem_channels %d out of range", c->stem_channels);
    if (c->vocab_size < 1 || c->max_len < 1)
        return snn_fail(err, SNN_EINVAL, "vocab_size (%d) and max_len (%d) must be positive",
                        c->vocab_size, c->max_len);
    if (!(c->tau > 1.0f) || !(c->vth > 0) || !(c->vth_attn > 0) || !(c->coder_vth > 0) ||
        !(c->surrogate_alpha > 0))
        return snn_fail(err, SNN_EINVAL, "tau must be > 1 and thresholds and alpha > 0");
    if (!(c->sim_temperature > 0) || !(c->loss_temperature > 0))
        return snn_fail(err, SNN_EINVAL, "temperatures must be > 0");
    return SNN_OK;
}

int snn_config_value_bits(const snn_config *c)
{
    int max_value = 2 * c->depth + 1, bits = 1;
    while ((1 << bits) <= max_value)
        bits++;
    return bits;
}

/* ---- metadata names: one row per field */

enum { F_INT, F_FLOAT, F_U64 };

/* Fields marked optional were added after model format version 1 came out: a
 * file without one gets the default value. */
static const struct {
    const char *name;
    int type;
    size_t offset;
    int optional;
} fields[] = {
#define I(f) {#f, F_INT, offsetof(snn_config, f), 0}
#define F(f) {#f, F_FLOAT, offsetof(snn_config, f), 0}
    I(time_steps), I(dim), I(heads), I(ffn_hidden), I(depth), I(image_size), I(grid),
    I(stem_channels), I(vocab_size), I(max_len), F(tau), F(vth), F(vth_attn),
    F(surrogate_alpha), F(learn_vth), F(coder_vth), F(attn_scale), F(readout_first),
    F(readout_rest), I(ann), F(bn_momentum), F(sim_temperature), F(loss_temperature),
    F(margin),
    {"img_mean_r", F_FLOAT, offsetof(snn_config, img_mean), 0},
    {"img_mean_g", F_FLOAT, offsetof(snn_config, img_mean) + sizeof(float), 0},
    {"img_mean_b", F_FLOAT, offsetof(snn_config, img_mean) + 2 * sizeof(float), 0},
    {"img_std_r", F_FLOAT, offsetof(snn_config, img_std), 0},
    {"img_std_g", F_FLOAT, offsetof(snn_config, img_std) + sizeof(float), 0},
    {"img_std_b", F_FLOAT, offsetof(snn_config, img_std) + 2 * sizeof(float), 0},
    {"vocab_fingerprint", F_U64, offsetof(snn_config, vocab_fingerprint), 0},
    {"fusion", F_INT, offsetof(snn_config, fusion), 1},
#undef I
#undef F
};

size_t snn_config_field_count(void)
{
    return sizeof fields / sizeof fields[0];
}

const char *snn_config_field_name(size_t i)
{
    return fields[i].name;
}

int snn_config_field_optional(size_t i)
{
    return fields[i].optional;
}

int snn_config_field_is_default(const snn_config *c, size_t i)
{
    snn_config d;
    char value[64], default_value[64];
    snn_config_default(&d);
    snn_config_format(c, i, value, sizeof value);
    snn_config_format(&d, i, default_value, sizeof default_value);
    return strcmp(value, default_value) == 0;
}

void snn_config_format(const snn_config *c, size_t i, char *buf, size_t size)
{
    const char *base = (const char *)c + fields[i].offset;
    if (fields[i].type == F_INT)
        snprintf(buf, size, "%d", *(const int *)base);
    else if (fields[i].type == F_FLOAT)
        snprintf(buf, size, "%.9g", (double)*(const float *)base);
    else
        snprintf(buf, size, "%016llx", (unsigned long long)*(const uint64_t *)base);
}

int snn_config_parse(snn_config *c, size_t i, const char *text)
{
    char *base = (char *)c + fields[i].offset, *end;
    errno = 0;
    if (fields[i].type == F_INT) {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end || v < -2147483647L || v > 2147483647L)
            return SNN_EFORMAT;
        *(int *)base = (int)v;
    } else if (fields[i].type == F_FLOAT) {
        float v = strtof(text, &end);
        if (errno || end == text || *end)
            return SNN_EFORMAT;
        *(float *)base = v;
    } else {
        unsigned long long v = strtoull(text, &end, 16);
        if (errno || end == text || *end)
            return SNN_EFORMAT;
        *(uint64_t *)base = v;
    }
    return SNN_OK;
}
