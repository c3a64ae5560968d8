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
 * expanded, 16-bit samples are reduced. Errors name the path.
 *
 * With M = 2^depth - 1 (255 or 65535), a colour sample c of alpha a becomes
 * (a*c + (M-a)*M + M/2) / M in integer arithmetic, at the file's own depth, and a
 * 16-bit result v is then reduced to (v*255 + 32767) / 65535. Gamma and colour
 * profile chunks are ignored. On success img owns a new buffer (release it with
 * snn_image_free). On failure img is left empty and the status is SNN_EIO (cannot
 * open or read), SNN_EFORMAT (not a PNG, truncated or corrupt) or SNN_ENOMEM
 * (width*height above max_pixels, or allocation failed). */
int snn_png_read(snn_image *img, const char *path, size_t max_pixels, snn_error *err);
void snn_image_free(snn_image *img);

/* Allocates img->rgb for a width x height image after checking width*height
 * against max_pixels and the address space. Decoders call it with the header's size
 * before reading any pixel. path only names the file in errors. Returns SNN_OK,
 * SNN_EFORMAT for a side of 0 or above INT_MAX, or SNN_ENOMEM. */
int snn_image_alloc(snn_image *img, uint32_t width, uint32_t height, size_t max_pixels,
                    const char *path, snn_error *err);

/* Resizes to S x S (area averaging when shrinking, bilinear when enlarging;
 * the aspect ratio is not kept) and writes (3,S,S) floats, channel c being
 * (x/255 - mean[c]) / std[c].
 *
 * Each axis is resampled on its own. Shrinking weights every input pixel by the
 * fraction of it that the output pixel's footprint covers (an exact box filter).
 * Enlarging samples at half-pixel centres, src = (i + 0.5) * in/S - 0.5, clamped to
 * the edge pixels, as PyTorch's bilinear mode with align_corners=False does. A side
 * that already has S pixels is copied. Requires width, height and S >= 1; nothing
 * is allocated. */
void snn_image_to_tensor(float *out, const snn_image *img, int S, const float mean[3],
                         const float std[3]);

#endif
