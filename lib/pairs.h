/* A split of a dataset held in memory for training and validation: preprocessed
 * images, tokenised captions, and the group of each (captions belong to every
 * image of their group). */
#ifndef SNN_PAIRS_H
#define SNN_PAIRS_H

#include <stddef.h>

#include "model.h"
#include "similarity.h"
#include "snn.h"
#include "text.h"

typedef struct {
    int n_groups;
    int n_images;
    float *pixels;     /* (n_images,3,S,S) */
    int *img_group;    /* (n_images) */
    const char **img_id;
    int n_caps;
    int *cap_off;      /* (n_caps+1) token offsets */
    int *cap_ids;      /* token ids */
    int *cap_group;    /* (n_caps) */
    long *cap_sentid;
    size_t truncated;  /* captions cut to max_len */
    int *group_caps;   /* captions of each group: group_caps[group_cap_off[g]..] */
    int *group_cap_off;
    int *group_imgs;
    int *group_img_off;
} snn_pairs;

/* Loads the images and captions of one split. Each sentid is kept once; captions
 * longer than the model's max_len are truncated and counted. Errors name the
 * image file or the caption. */
int snn_pairs_load(snn_pairs *p, const snn_dataset *d, const char *split, const snn_vocab *v,
                   const snn_config *c, snn_error *err);
void snn_pairs_free(snn_pairs *p);

/* Loads one image file into (3,S,S) model input. */
int snn_load_image_tensor(float *out, const char *path, const snn_config *c, snn_error *err);

/* Encodes every image and caption of p with m in inference mode and scores
 * retrieval (fine-grained similarity on the spike embeddings). */
int snn_evaluate(snn_model *m, const snn_pairs *p, snn_metrics *out, snn_error *err);

#endif
