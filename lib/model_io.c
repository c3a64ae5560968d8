/* Saving and loading models and checkpoints as safetensors files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "model.h"
#include "safetensors.h"
#include "stream.h"

#define FORMAT_NAME "snn-itr-model"
#define FORMAT_VERSION "1"
#define MAX_EXTRA_META 32

uint64_t snn_model_fingerprint(const snn_model *m)
{
    uint64_t h = SNN_FNV1A64_INIT;
    char buf[64];
    for (size_t i = 0; i < snn_config_field_count(); i++) {
        /* An optional field at its default is left out, so a model keeps the
         * fingerprint it had before the field existed. */
        if (snn_config_field_optional(i) && snn_config_field_is_default(&m->cfg, i))
            continue;
        snn_config_format(&m->cfg, i, buf, sizeof buf);
        h = snn_fnv1a64(h, snn_config_field_name(i), strlen(snn_config_field_name(i)));
        h = snn_fnv1a64(h, buf, strlen(buf));
    }
    h = snn_fnv1a64(h, m->params, m->n_params * sizeof(float));
    h = snn_fnv1a64(h, m->buffers, m->n_buffers * sizeof(float));
    return h ? h : 1; /* 0 means "no model" in streams */
}

int snn_model_save(const snn_model *m, const char *path, int with_optimizer,
                   const char *const *extra_meta, size_t n_extra, snn_error *err)
{
    size_t nfields = snn_config_field_count();
    size_t nt = m->n_tensors + (with_optimizer ? 2 : 0);
    size_t nmeta = nfields + 4 + n_extra / 2;
    snn_st_tensor *t = calloc(nt, sizeof *t);
    snn_st_meta *meta = calloc(nmeta, sizeof *meta);
    char (*values)[64] = calloc(nfields + 2, sizeof *values);
    if (!t || !meta || !values) {
        free(t);
        free(meta);
        free(values);
        return snn_fail(err, SNN_ENOMEM, "%s: out of memory while saving", path);
    }

    for (size_t i = 0; i < m->n_tensors; i++) {
        const snn_tensor_info *ti = &m->tensors[i];
        t[i] = (snn_st_tensor){.name = ti->name, .dtype = "F32", .ndim = ti->ndim,
                               .data = (ti->buffer ? m->buffers : m->params) + ti->offset,
                               .nbytes = ti->size * sizeof(float)};
        memcpy(t[i].shape, ti->shape, sizeof ti->shape);
    }
    size_t k = 0;
    meta[k++] = (snn_st_meta){"format", FORMAT_NAME};
    meta[k++] = (snn_st_meta){"format_version", FORMAT_VERSION};
    for (size_t i = 0; i < nfields; i++) {
        snn_config_format(&m->cfg, i, values[i], sizeof values[i]);
        meta[k++] = (snn_st_meta){snn_config_field_name(i), values[i]};
    }
    if (with_optimizer) {
        size_t n = m->n_tensors;
        t[n] = (snn_st_tensor){.name = "optimizer.adam_m", .dtype = "F32", .ndim = 1,
                               .shape = {(int64_t)m->n_params}, .data = m->adam_m,
                               .nbytes = m->n_params * sizeof(float)};
        t[n + 1] = t[n];
        t[n + 1].name = "optimizer.adam_v";
        t[n + 1].data = m->adam_v;
        snprintf(values[nfields], sizeof values[0], "%ld", m->step);
        meta[k++] = (snn_st_meta){"optimizer_step", values[nfields]};
        snprintf(values[nfields + 1], sizeof values[0], "%ld", m->epoch);
        meta[k++] = (snn_st_meta){"epoch", values[nfields + 1]};
    }
    for (size_t i = 0; i + 1 < n_extra; i += 2)
        meta[k++] = (snn_st_meta){extra_meta[i], extra_meta[i + 1]};

    int rc = snn_st_write(path, t, nt, meta, k, err);
    free(t);
    free(meta);
    free(values);
    return rc;
}

static int read_config(snn_config *c, const snn_st_file *f, const char *path, snn_error *err)
{
    const char *format = snn_st_meta_get(f, "format");
    if (!format || strcmp(format, FORMAT_NAME) != 0)
        return snn_fail(err, SNN_EFORMAT, "%s: not an snn-itr model (metadata \"format\" is %s)",
                        path, format ? format : "missing");
    const char *version = snn_st_meta_get(f, "format_version");
    if (!version || strcmp(version, FORMAT_VERSION) != 0)
        return snn_fail(err, SNN_EFORMAT, "%s: unsupported model format version %s (expected "
                        FORMAT_VERSION ")", path, version ? version : "missing");

    snn_config_default(c);
    for (size_t i = 0; i < snn_config_field_count(); i++) {
        const char *name = snn_config_field_name(i), *text = snn_st_meta_get(f, name);
        if (!text && snn_config_field_optional(i))
            continue;
        if (!text)
            return snn_fail(err, SNN_EFORMAT, "%s: metadata \"%s\" is missing", path, name);
        if (snn_config_parse(c, i, text))
            return snn_fail(err, SNN_EFORMAT, "%s: metadata \"%s\" has an invalid value \"%s\"",
                            path, name, text);
    }
    return SNN_OK;
}

static int copy_tensor(float *dst, size_t size, const snn_st_tensor *t, const char *name,
                       const char *path, snn_error *err)
{
    if (!t)
        return snn_fail(err, SNN_EFORMAT, "%s: tensor \"%s\" is missing", path, name);
    if (strcmp(t->dtype, "F32") != 0 || t->nbytes != size * sizeof(float))
        return snn_fail(err, SNN_EFORMAT,
                        "%s: tensor \"%s\" has dtype %s and %zu bytes, expected F32 and %zu",
                        path, name, t->dtype, t->nbytes, size * sizeof(float));
    memcpy(dst, t->data, t->nbytes);
    return SNN_OK;
}

int snn_model_load(snn_model **out, const char *path, snn_error *err)
{
    *out = NULL;
    snn_st_file *f;
    int rc = snn_st_read(&f, path, err);
    if (rc)
        return rc;

    snn_config cfg;
    snn_model *m = NULL;
    if ((rc = read_config(&cfg, f, path, err)))
        goto done;
    if ((rc = snn_model_new(&m, &cfg, 0, err))) {
        snn_fail_prefix(err, "%s", path);
        goto done;
    }
    for (size_t i = 0; i < m->n_tensors && !rc; i++) {
        const snn_tensor_info *ti = &m->tensors[i];
        float *dst = (ti->buffer ? m->buffers : m->params) + ti->offset;
        rc = copy_tensor(dst, ti->size, snn_st_find(f, ti->name), ti->name, path, err);
    }
    const snn_st_tensor *am = snn_st_find(f, "optimizer.adam_m");
    if (!rc && am) {
        const char *step = snn_st_meta_get(f, "optimizer_step");
        const char *epoch = snn_st_meta_get(f, "epoch");
        m->step = step ? atol(step) : 0;
        m->epoch = epoch ? atol(epoch) : 0;
        rc = copy_tensor(m->adam_m, m->n_params, am, "optimizer.adam_m", path, err);
        if (!rc)
            rc = copy_tensor(m->adam_v, m->n_params, snn_st_find(f, "optimizer.adam_v"),
                             "optimizer.adam_v", path, err);
    }

done:
    snn_st_free(f);
    if (rc) {
        snn_model_free(m);
        return rc;
    }
    m->fingerprint = snn_model_fingerprint(m);
    *out = m;
    return SNN_OK;
}

