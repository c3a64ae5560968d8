/* The (image, caption) pairs that --pairs names: a TSV of image id and caption
 * id, or the top-k lists of snn-rank --topk, whose image-to-text lines pair the
 * query with the candidate and text-to-image lines the other way round. */
#ifndef SNN_FUSE_PAIRS_H
#define SNN_FUSE_PAIRS_H

#include <stddef.h>

#include "items.h"

typedef struct {
    const fuse_item *img, *txt;
} fuse_pair;

/* Reads path ('-' for stdin) and resolves its ids in the held images and
 * captions. A pair listed twice is kept once, at its first line. Exits 1 on a
 * malformed line or an unknown id, naming the file and the line. Returns the
 * pairs in file order (caller frees). */
fuse_pair *fuse_read_pairs(const char *path, const fuse_items *img, const fuse_items *txt,
                           size_t *count);

#endif
