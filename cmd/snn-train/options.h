/* Command-line options of snn-train. */
#ifndef SNN_TRAIN_OPTIONS_H
#define SNN_TRAIN_OPTIONS_H

#include <stdint.h>

#include "model.h"

typedef struct {
    const char *dataset, *image_root, *vocab, *output, *checkpoint, *resume, *log;
    const char *split, *val_split, *select, *test_split;
    int epochs, batch, lr_step, threads, shift, time_steps_given;
    float lr, lr_gamma, weight_decay, clip, float_weight, fusion_weight;
    uint64_t seed;
    snn_config cfg;
} train_options;

/* Parses argv into o; prints help or version and exits, exits 2 on usage errors. */
void train_parse_options(train_options *o, int argc, char **argv);

#endif
