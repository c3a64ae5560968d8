/* Hyperparameter names and text forms for model-file metadata (internal). */
#ifndef SNN_CONFIG_H
#define SNN_CONFIG_H

#include "model.h"

/* Number of stem stages (halvings from image_size to grid), or -1. */
int snn_config_stages(const snn_config *c);
size_t snn_config_field_count(void);
const char *snn_config_field_name(size_t i);
/* 1 when a model file may lack field i, which then takes its default value. */
int snn_config_field_optional(size_t i);
/* 1 when field i of c has the value of snn_config_default. */
int snn_config_field_is_default(const snn_config *c, size_t i);
void snn_config_format(const snn_config *c, size_t i, char *buf, size_t size);
int snn_config_parse(snn_config *c, size_t i, const char *text);

#endif
