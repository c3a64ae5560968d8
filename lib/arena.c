#include "arena.h"

#include <stdlib.h>
#include <string.h>

struct snn_arena_chunk {
    snn_arena_chunk *next;
    size_t size, used; /* bytes of payload, bytes handed out since the last reset */
};

#define ALIGN 64
#define HEADER 64 /* the chunk header, padded so payloads stay aligned */
#define MIN_CHUNK ((size_t)64 << 20)

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

static snn_arena_chunk *new_chunk(size_t bytes)
{
    size_t size = bytes > MIN_CHUNK ? bytes : MIN_CHUNK;
    void *mem = NULL;
    if (size > (size_t)-1 - HEADER || posix_memalign(&mem, ALIGN, HEADER + size) != 0)
        return NULL;
    snn_arena_chunk *c = mem;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

static void *take(snn_arena *a, size_t bytes)
{
    if (bytes > (size_t)-1 - ALIGN)
        return NULL;
    bytes = round_up(bytes ? bytes : 1);

    /* Use the current chunk, then the kept ones after it, then a new one. */
    snn_arena_chunk *c = a->current ? a->current : a->chunks;
    while (c && c->size - c->used < bytes)
        c = c->next;
    if (!c) {
        c = new_chunk(bytes);
        if (!c)
            return NULL;
        snn_arena_chunk **tail = &a->chunks;
        while (*tail)
            tail = &(*tail)->next;
        *tail = c;
    }
    a->current = c;

    void *p = (char *)c + HEADER + c->used;
    c->used += bytes;
    a->used_bytes += bytes;
    if (a->used_bytes > a->peak_bytes)
        a->peak_bytes = a->used_bytes;
    return p;
}

float *snn_arena_floats(snn_arena *a, size_t n)
{
    if (n > ((size_t)-1) / sizeof(float))
        return NULL;
    return take(a, n * sizeof(float));
}

float *snn_arena_zeros(snn_arena *a, size_t n)
{
    float *p = snn_arena_floats(a, n);
    if (p)
        memset(p, 0, n * sizeof(float));
    return p;
}

int *snn_arena_ints(snn_arena *a, size_t n)
{
    if (n > ((size_t)-1) / sizeof(int))
        return NULL;
    return take(a, n * sizeof(int));
}

void snn_arena_reset(snn_arena *a)
{
    for (snn_arena_chunk *c = a->chunks; c; c = c->next)
        c->used = 0;
    a->current = a->chunks;
    a->used_bytes = 0;
}

void snn_arena_free(snn_arena *a)
{
    snn_arena_chunk *c = a->chunks;
    while (c) {
        snn_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    memset(a, 0, sizeof *a);
}
