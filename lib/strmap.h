/* A string-to-index hash map (open addressing, linear probing) for vocabularies
 * and word counts. Internal to libsnn. */
#ifndef SNN_STRMAP_H
#define SNN_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char **keys; /* borrowed: each key must outlive the map */
    uint32_t *lens;
    uint32_t *values;
    size_t cap;        /* slots, a power of two; an empty slot has keys[i] == NULL */
    size_t count;
} snn_strmap;

/* Prepares an empty map. Returns SNN_OK or SNN_ENOMEM. */
int snn_strmap_init(snn_strmap *m);
/* Returns the value stored for the len bytes at key, or -1. */
long snn_strmap_get(const snn_strmap *m, const char *key, size_t len);
/* Stores value for the NUL-terminated key, replacing an earlier value. The map
 * keeps the key pointer, not a copy. Returns SNN_OK or SNN_ENOMEM. */
int snn_strmap_put(snn_strmap *m, const char *key, uint32_t value);
void snn_strmap_free(snn_strmap *m);

#endif
