/* In-process validation: encode a split with the model in inference mode and
 * score retrieval, as snn-encode-img | snn-encode-txt | snn-rank would. */
#include <stdlib.h>
#include <string.h>

#include "pairs.h"

#define ENCODE_BATCH 64
#define SIM_IMAGES 16   /* images per similarity block */
#define SIM_CAPTIONS 512 /* captions per similarity block */

static int encode_images(snn_model *m, const snn_pairs *p, float *emb, snn_error *err)
{
    const snn_config *c = &m->cfg;
    size_t img_floats = (size_t)3 * c->image_size * c->image_size;
    size_t per_image = (size_t)c->grid * c->grid * c->dim;
    snn_arena ar = {0};
    for (int start = 0; start < p->n_images; start += ENCODE_BATCH) {
        int B = p->n_images - start < ENCODE_BATCH ? p->n_images - start : ENCODE_BATCH;
        snn_enc_out out;
        if (snn_image_forward(m, &out, p->pixels + start * img_floats, B, 0, &ar)) {
            snn_arena_free(&ar);
            return snn_fail(err, SNN_ENOMEM, "out of memory encoding images");
        }
        memcpy(emb + start * per_image, out.emb, (size_t)B * per_image * sizeof(float));
        snn_arena_reset(&ar);
    }
    snn_arena_free(&ar);
    return SNN_OK;
}

static int encode_captions(snn_model *m, const snn_pairs *p, float *emb, snn_error *err)
{
    int D = m->cfg.dim;
    snn_arena ar = {0};
    for (int start = 0; start < p->n_caps; start += ENCODE_BATCH) {
        int B = p->n_caps - start < ENCODE_BATCH ? p->n_caps - start : ENCODE_BATCH;
        int *off = snn_arena_ints(&ar, (size_t)B + 1);
        if (!off) {
            snn_arena_free(&ar);
            return snn_fail(err, SNN_ENOMEM, "out of memory encoding captions");
        }
        int base = p->cap_off[start];
        for (int b = 0; b <= B; b++)
            off[b] = p->cap_off[start + b] - base;

        snn_enc_out out;
        if (snn_text_forward(m, &out, p->cap_ids + base, off, B, 0, &ar)) {
            snn_arena_free(&ar);
            return snn_fail(err, SNN_ENOMEM, "out of memory encoding captions");
        }
        memcpy(emb + (size_t)base * D, out.emb, (size_t)off[B] * D * sizeof(float));
        snn_arena_reset(&ar);
    }
    snn_arena_free(&ar);
    return SNN_OK;
}

/* Fills sim (n_images, n_caps) block by block so the cosine buffers stay small. */
static int score_all(float *sim, const snn_model *m, const snn_pairs *p, const float *img_emb,
                     const float *cap_emb, snn_error *err)
{
    const snn_config *c = &m->cfg;
    int GG = c->grid * c->grid, D = c->dim;
    snn_sim_params sp = {.mode = SNN_SIM_FINE, .temperature = c->sim_temperature};
    int img_off[SIM_IMAGES + 1], cap_off[SIM_CAPTIONS + 1];
    float *block = malloc(sizeof(float) * SIM_IMAGES * SIM_CAPTIONS);
    if (!block)
        return snn_fail(err, SNN_ENOMEM, "out of memory scoring");

    for (int i0 = 0; i0 < p->n_images; i0 += SIM_IMAGES) {
        int Bi = p->n_images - i0 < SIM_IMAGES ? p->n_images - i0 : SIM_IMAGES;
        for (int b = 0; b <= Bi; b++)
            img_off[b] = b * GG;
        for (int j0 = 0; j0 < p->n_caps; j0 += SIM_CAPTIONS) {
            int Bt = p->n_caps - j0 < SIM_CAPTIONS ? p->n_caps - j0 : SIM_CAPTIONS;
            for (int b = 0; b <= Bt; b++)
                cap_off[b] = p->cap_off[j0 + b] - p->cap_off[j0];
            int rc = snn_sim_forward(block, NULL, img_emb + (size_t)i0 * GG * D, img_off, Bi,
                                     cap_emb + (size_t)p->cap_off[j0] * D, cap_off, Bt, D, &sp,
                                     err);
            if (rc) {
                free(block);
                return rc;
            }
            for (int i = 0; i < Bi; i++)
                memcpy(sim + (size_t)(i0 + i) * p->n_caps + j0, block + (size_t)i * Bt,
                       (size_t)Bt * sizeof(float));
        }
    }
    free(block);
    return SNN_OK;
}

int snn_evaluate(snn_model *m, const snn_pairs *p, snn_metrics *out, snn_error *err)
{
    const snn_config *c = &m->cfg;
    size_t D = (size_t)c->dim, GG = (size_t)c->grid * c->grid;
    float *img_emb = snn_alloc((size_t)p->n_images * GG, D * sizeof(float));
    float *cap_emb = snn_alloc((size_t)p->cap_off[p->n_caps] + 1, D * sizeof(float));
    float *sim = snn_alloc((size_t)p->n_images, (size_t)p->n_caps * sizeof(float));
    int rc;
    if (!img_emb || !cap_emb || !sim)
        rc = snn_fail(err, SNN_ENOMEM, "out of memory for %d x %d similarities", p->n_images,
                      p->n_caps);
    else if (!(rc = encode_images(m, p, img_emb, err)) &&
             !(rc = encode_captions(m, p, cap_emb, err)) &&
             !(rc = score_all(sim, m, p, img_emb, cap_emb, err)))
        rc = snn_metrics_compute(out, sim, (size_t)p->n_images, (size_t)p->n_caps, p->img_group,
                                 p->cap_group, err);
    free(img_emb);
    free(cap_emb);
    free(sim);
    return rc;
}
