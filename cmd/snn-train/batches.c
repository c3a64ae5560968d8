#include "batches.h"

#include <stdlib.h>
#include <string.h>

int batches_start(batch_iter *it, const snn_pairs *p, uint64_t seed, long epoch)
{
    memset(it, 0, sizeof *it);
    it->order = malloc(((size_t)p->n_caps + 1) * sizeof(int));
    it->stamp = malloc(((size_t)p->n_groups + 1) * sizeof(int));
    if (!it->order || !it->stamp)
        return -1;
    for (int g = 0; g < p->n_groups; g++)
        it->stamp[g] = -1;
    it->n = p->n_caps;
    for (int i = 0; i < it->n; i++)
        it->order[i] = i;

    /* Each epoch has its own stream, so a resumed run shuffles as an uninterrupted one. */
    snn_rng_seed(&it->rng, seed * 0x9e3779b97f4a7c15ULL + (uint64_t)epoch + 1);
    for (int i = it->n - 1; i > 0; i--) {
        int j = (int)snn_rng_below(&it->rng, (uint64_t)i + 1);
        int t = it->order[i];
        it->order[i] = it->order[j];
        it->order[j] = t;
    }
    return 0;
}

int batches_next(batch_iter *it, const snn_pairs *p, int B, int *caps, int *imgs)
{
    int count = 0;
    /* Take captions in order, skipping (and keeping for later) those whose group is
     * already in the batch; skipped captions move just past the taken ones. */
    int write = it->next;
    for (int read = it->next; read < it->n && count < B; read++) {
        int cap = it->order[read], g = p->cap_group[cap];
        if (it->stamp[g] == it->batch_no) {
            continue;
        }
        it->stamp[g] = it->batch_no;
        /* move the taken caption to the front of the unused region */
        it->order[read] = it->order[write];
        it->order[write] = cap;
        write++;

        int n_imgs = p->group_img_off[g + 1] - p->group_img_off[g];
        caps[count] = cap;
        imgs[count] = p->group_imgs[p->group_img_off[g] +
                                    (int)snn_rng_below(&it->rng, (uint64_t)n_imgs)];
        count++;
    }
    it->next = write;
    it->batch_no++;
    return count;
}

void batches_free(batch_iter *it)
{
    free(it->order);
    free(it->stamp);
    memset(it, 0, sizeof *it);
}
