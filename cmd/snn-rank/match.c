/* Relevance between images and captions: equal record keys. */
#include "sets.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *key;
    int side; /* 0 image, 1 caption */
    size_t index;
} key_entry;

static int compare_entries(const void *a, const void *b)
{
    const key_entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    if (x->side != y->side)
        return x->side - y->side;
    return (x->index > y->index) - (x->index < y->index);
}

/* Numbers the distinct keys in sorted order and marks the sets whose key occurs on
 * both sides. entries (n) is sorted here. */
static void number_keys(key_entry *entries, size_t n, rank_sets *side[2],
                        unsigned char *keep[2])
{
    int id = 0;
    for (size_t first = 0, end; first < n; first = end, id++) {
        int present[2] = {0, 0};
        for (end = first; end < n && strcmp(entries[end].key, entries[first].key) == 0; end++)
            present[entries[end].side] = 1;

        for (size_t e = first; e < end; e++) {
            side[entries[e].side]->key_id[entries[e].index] = id;
            keep[entries[e].side][entries[e].index] = present[0] && present[1];
        }
    }
}

static size_t count_dropped(const unsigned char *keep, size_t n, size_t *first)
{
    size_t dropped = 0;
    *first = n;
    for (size_t k = n; k-- > 0;)
        if (!keep[k]) {
            dropped++;
            *first = k;
        }
    return dropped;
}

static int unmatched_error(const rank_sets *img, const rank_sets *txt, unsigned char *keep[2],
                           snn_error *err)
{
    size_t first, n = count_dropped(keep[1], txt->count, &first);
    if (n)
        return snn_fail(err, SNN_EFORMAT, "%s: record %zu (id '%s'): no image has its key '%s' "
                        "(%zu of %zu captions have no match): pass --allow-unmatched to drop them",
                        txt->name, txt->record[first], txt->ids[first], txt->keys[first], n,
                        txt->count);
    n = count_dropped(keep[0], img->count, &first);
    return snn_fail(err, SNN_EFORMAT, "%s: record %zu (id '%s'): no caption has its key '%s' "
                    "(%zu of %zu images have no match): pass --allow-unmatched to drop them",
                    img->name, img->record[first], img->ids[first], img->keys[first], n,
                    img->count);
}

int rank_match_keys(rank_sets *img, rank_sets *txt, int allow_unmatched, size_t *dropped_img,
                    size_t *dropped_txt, snn_error *err)
{
    size_t n = img->count + txt->count;
    rank_sets *side[2] = {img, txt};
    key_entry *entries = snn_alloc(n, sizeof *entries);
    unsigned char *keep[2] = {snn_alloc(img->count, 1), snn_alloc(txt->count, 1)};
    img->key_id = snn_alloc(img->count, sizeof *img->key_id);
    txt->key_id = snn_alloc(txt->count, sizeof *txt->key_id);
    int rc = SNN_OK;
    if (!entries || !keep[0] || !keep[1] || !img->key_id || !txt->key_id) {
        rc = snn_fail(err, SNN_ENOMEM, "out of memory for %zu record keys", n);
        goto done;
    }

    for (size_t k = 0; k < n; k++) {
        int s = k >= img->count;
        size_t index = s ? k - img->count : k;
        entries[k] = (key_entry){side[s]->keys[index], s, index};
    }
    qsort(entries, n, sizeof *entries, compare_entries);
    number_keys(entries, n, side, keep);

    size_t first;
    *dropped_img = count_dropped(keep[0], img->count, &first);
    *dropped_txt = count_dropped(keep[1], txt->count, &first);
    if ((*dropped_img || *dropped_txt) && !allow_unmatched) {
        rc = unmatched_error(img, txt, keep, err);
        goto done;
    }
    rank_sets_keep(img, keep[0]);
    rank_sets_keep(txt, keep[1]);

done:
    free(entries);
    free(keep[0]);
    free(keep[1]);
    return rc;
}
