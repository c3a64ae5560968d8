/* Loading a dataset split into memory for training and validation. */
#include "pairs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "strmap.h"

int snn_load_image_tensor(float *out, const char *path, const snn_config *c, snn_error *err)
{
    snn_image img;
    int rc = snn_png_read(&img, path, SNN_IMAGE_MAX_PIXELS, err);
    if (rc)
        return rc;
    snn_image_to_tensor(out, &img, c->image_size, c->img_mean, c->img_std);
    snn_image_free(&img);
    return SNN_OK;
}

/* Maps strings to dense indices in order of first appearance; owns its keys. */
typedef struct {
    snn_strmap map;
    char **keys;
    size_t n, cap;
} interner;

static int interner_init(interner *in)
{
    memset(in, 0, sizeof *in);
    return snn_strmap_init(&in->map);
}

/* Returns the index of key, adding it when new, or -1 when out of memory. */
static int intern(interner *in, const char *key)
{
    long found = snn_strmap_get(&in->map, key, strlen(key));
    if (found >= 0)
        return (int)found;
    if (in->n == in->cap) {
        size_t cap = in->cap ? 2 * in->cap : 64;
        char **keys = realloc(in->keys, cap * sizeof *keys);
        if (!keys)
            return -1;
        in->keys = keys;
        in->cap = cap;
    }
    char *copy = strdup(key);
    if (!copy || snn_strmap_put(&in->map, copy, (uint32_t)in->n)) {
        free(copy);
        return -1;
    }
    in->keys[in->n] = copy;
    return (int)in->n++;
}

static void interner_free(interner *in)
{
    snn_strmap_free(&in->map);
    for (size_t i = 0; i < in->n; i++)
        free(in->keys[i]);
    free(in->keys);
}

void snn_pairs_free(snn_pairs *p)
{
    free(p->pixels);
    free(p->img_group);
    free(p->img_id);
    free(p->cap_off);
    free(p->cap_ids);
    free(p->cap_group);
    free(p->cap_sentid);
    free(p->group_caps);
    free(p->group_cap_off);
    free(p->group_imgs);
    free(p->group_img_off);
    memset(p, 0, sizeof *p);
}

/* Lists members per group: idx[off[g] .. off[g+1]) are the items of group g. */
static int index_groups(int **idx, int **off, const int *group, int n, int n_groups)
{
    *off = calloc((size_t)n_groups + 1, sizeof(int));
    *idx = malloc(((size_t)n + 1) * sizeof(int));
    if (!*off || !*idx)
        return SNN_ENOMEM;
    for (int i = 0; i < n; i++)
        (*off)[group[i] + 1]++;
    for (int g = 0; g < n_groups; g++)
        (*off)[g + 1] += (*off)[g];
    int *fill = calloc((size_t)n_groups + 1, sizeof(int));
    if (!fill)
        return SNN_ENOMEM;
    for (int i = 0; i < n; i++)
        (*idx)[(*off)[group[i]] + fill[group[i]]++] = i;
    free(fill);
    return SNN_OK;
}

static int count_split(const snn_dataset *d, const char *split, int *n_images, size_t *n_sents)
{
    *n_images = 0;
    *n_sents = 0;
    for (size_t i = 0; i < d->n_images; i++) {
        if (strcmp(d->images[i].split, split) != 0)
            continue;
        (*n_images)++;
        *n_sents += d->images[i].n_sentences;
    }
    return *n_images ? SNN_OK : SNN_EINVAL;
}

static int add_caption(snn_pairs *p, const snn_sentence *s, int group, const snn_vocab *v,
                       const snn_config *c, snn_error *err)
{
    size_t count;
    int truncated;
    int start = p->cap_off[p->n_caps];
    uint32_t *ids = malloc((size_t)c->max_len * sizeof *ids);
    if (!ids)
        return snn_fail(err, SNN_ENOMEM, "out of memory");
    int rc = snn_tokenize(ids, (size_t)c->max_len, &count, &truncated, v, s->raw, err);
    if (!rc && count == 0)
        rc = snn_fail(err, SNN_EFORMAT, "caption %ld has no tokens: \"%s\"", s->sentid, s->raw);
    if (rc) {
        free(ids);
        return rc;
    }
    for (size_t k = 0; k < count; k++)
        p->cap_ids[start + (int)k] = (int)ids[k];
    free(ids);
    p->truncated += truncated != 0;
    p->cap_group[p->n_caps] = group;
    p->cap_sentid[p->n_caps] = s->sentid;
    p->n_caps++;
    p->cap_off[p->n_caps] = start + (int)count;
    return SNN_OK;
}

int snn_pairs_load(snn_pairs *p, const snn_dataset *d, const char *split, const snn_vocab *v,
                   const snn_config *c, snn_error *err)
{
    memset(p, 0, sizeof *p);
    int n_images;
    size_t n_sents;
    if (count_split(d, split, &n_images, &n_sents))
        return snn_fail(err, SNN_EINVAL, "the dataset has no images in split \"%s\"", split);

    size_t img_floats = (size_t)3 * c->image_size * c->image_size;
    p->pixels = snn_alloc((size_t)n_images, img_floats * sizeof(float));
    p->img_group = calloc((size_t)n_images, sizeof(int));
    p->img_id = calloc((size_t)n_images, sizeof(char *));
    p->cap_off = calloc(n_sents + 1, sizeof(int));
    p->cap_ids = snn_alloc(n_sents + 1, (size_t)c->max_len * sizeof(int));
    p->cap_group = calloc(n_sents + 1, sizeof(int));
    p->cap_sentid = calloc(n_sents + 1, sizeof(long));
    interner groups, sentids;
    int rc = SNN_OK;
    int maps_ok = interner_init(&groups) == SNN_OK;
    maps_ok &= interner_init(&sentids) == SNN_OK;
    if (!p->pixels || !p->img_group || !p->img_id || !p->cap_off || !p->cap_ids ||
        !p->cap_group || !p->cap_sentid || !maps_ok) {
        rc = snn_fail(err, SNN_ENOMEM, "out of memory loading split \"%s\"", split);
        goto done;
    }

    for (size_t i = 0; i < d->n_images && !rc; i++) {
        const snn_dataset_image *im = &d->images[i];
        if (strcmp(im->split, split) != 0)
            continue;
        int group = intern(&groups, im->key);
        if (group < 0) {
            rc = snn_fail(err, SNN_ENOMEM, "out of memory");
            break;
        }
        float *dst = p->pixels + (size_t)p->n_images * img_floats;
        if ((rc = snn_load_image_tensor(dst, im->path, c, err)))
            break;
        p->img_group[p->n_images] = group;
        p->img_id[p->n_images] = im->path;
        p->n_images++;

        for (size_t k = 0; k < im->n_sentences && !rc; k++) {
            char key[32];
            snprintf(key, sizeof key, "%ld", im->sentences[k].sentid);
            size_t before = sentids.n;
            int index = intern(&sentids, key);
            if (index < 0) {
                rc = snn_fail(err, SNN_ENOMEM, "out of memory");
                break;
            }
            if ((size_t)index < before)
                continue; /* the same caption listed under another rendering */
            rc = add_caption(p, &im->sentences[k], group, v, c, err);
        }
    }
    if (!rc) {
        p->n_groups = (int)groups.n;
        if (index_groups(&p->group_caps, &p->group_cap_off, p->cap_group, p->n_caps,
                         p->n_groups) ||
            index_groups(&p->group_imgs, &p->group_img_off, p->img_group, p->n_images,
                         p->n_groups))
            rc = snn_fail(err, SNN_ENOMEM, "out of memory");
    }

done:
    interner_free(&groups);
    interner_free(&sentids);
    if (rc)
        snn_pairs_free(p);
    return rc;
}
