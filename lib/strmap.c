#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "snn.h"
#include "stream.h"

/* Keys longer than this are never stored, so lengths fit the uint32_t array. */
#define KEY_MAX_BYTES 0x7fffffffu

static size_t find_slot(const snn_strmap *m, const char *key, size_t len)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)snn_fnv1a64(SNN_FNV1A64_INIT, key, len) & mask;
    while (m->keys[i] && (m->lens[i] != len || memcmp(m->keys[i], key, len) != 0))
        i = (i + 1) & mask;
    return i;
}

static int allocate(snn_strmap *m, size_t cap)
{
    m->keys = snn_zalloc(cap, sizeof *m->keys);
    m->lens = snn_zalloc(cap, sizeof *m->lens);
    m->values = snn_zalloc(cap, sizeof *m->values);
    m->cap = cap;
    m->count = 0;
    if (m->keys && m->lens && m->values)
        return SNN_OK;
    snn_strmap_free(m);
    return SNN_ENOMEM;
}

int snn_strmap_init(snn_strmap *m)
{
    return allocate(m, 64);
}

/* Doubles the table once it is half full, which keeps probe runs short. */
static int grow(snn_strmap *m)
{
    snn_strmap old = *m;
    if (old.cap > SIZE_MAX / 4 || allocate(m, old.cap * 2) != SNN_OK) {
        *m = old;
        return SNN_ENOMEM;
    }
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.keys[i])
            continue;
        size_t j = find_slot(m, old.keys[i], old.lens[i]);
        m->keys[j] = old.keys[i];
        m->lens[j] = old.lens[i];
        m->values[j] = old.values[i];
        m->count++;
    }
    snn_strmap_free(&old);
    return SNN_OK;
}

long snn_strmap_get(const snn_strmap *m, const char *key, size_t len)
{
    if (!m->cap || len > KEY_MAX_BYTES)
        return -1;
    size_t i = find_slot(m, key, len);
    return m->keys[i] ? (long)m->values[i] : -1;
}

int snn_strmap_put(snn_strmap *m, const char *key, uint32_t value)
{
    size_t len = strlen(key);
    if (len > KEY_MAX_BYTES)
        return SNN_ENOMEM;
    if ((m->count + 1) * 2 > m->cap && grow(m) != SNN_OK)
        return SNN_ENOMEM;

    size_t i = find_slot(m, key, len);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->lens[i] = (uint32_t)len;
        m->count++;
    }
    m->values[i] = value;
    return SNN_OK;
}

void snn_strmap_free(snn_strmap *m)
{
    if (!m)
        return;
    free(m->keys);
    free(m->lens);
    free(m->values);
    memset(m, 0, sizeof *m);
}
