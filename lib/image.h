/* Image decoding and preprocessing. */
#ifndef SNN_IMAGE_H
#define SNN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "snn.h"

/* Default pixel limit checked from the header before any pixel allocation. */
#define SNN_IMAGE_MAX_PIXELS ((size_t)64 << 20)

typedef struct {
    int width, height;
    uint8_t *rgb; /* height*width*3 bytes, row-major, interleaved R,G,B */
} snn_image;

/* Decodes a PNG of any colour type and bit depth (interlaced too) into 8-bit RGB:
 * alpha is composited on white, grey is expanded, palettes (with tRNS) are
 * expanded, 16-bit samples are reduced. Errors name the path. */
int snn_png_read(snn_image *img, const char *path, size_t max_pixels, snn_error *err);
void snn_image_free(snn_image *img);

/* Resizes to S x S (area averaging when shrinking, bilinear when enlarging;
 * the aspect ratio is not kept) and writes (3,S,S) floats, channel c being
 * (x/255 - mean[c]) / std[c]. */
void snn_image_to_tensor(float *out, const snn_image *img, int S, const float mean[3],
                         const float std[3]);

#endif
