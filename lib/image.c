/* The snn_image buffer: the size check every decoder makes before reading pixels,
 * and release. */
#include "image.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

int snn_image_alloc(snn_image *img, uint32_t width, uint32_t height, size_t max_pixels,
                    const char *path, snn_error *err)
{
    img->width = img->height = 0;
    img->rgb = NULL;
    if (width == 0 || height == 0)
        return snn_fail(err, SNN_EFORMAT, "%s: invalid image size %" PRIu32 "x%" PRIu32,
                        path, width, height);
    if (width > INT_MAX || height > INT_MAX)
        return snn_fail(err, SNN_EFORMAT, "%s: image size %" PRIu32 "x%" PRIu32
                        " has a side above %d", path, width, height, INT_MAX);

    /* Both sides are below 2^31, so the product fits in 64 bits. */
    uint64_t pixels = (uint64_t)width * height;
    if (pixels > max_pixels)
        return snn_fail(err, SNN_ENOMEM, "%s: %" PRIu32 "x%" PRIu32
                        " pixels exceeds the limit of %zu pixels", path, width, height,
                        max_pixels);
    if (pixels > SIZE_MAX / 3)
        return snn_fail(err, SNN_ENOMEM, "%s: %" PRIu32 "x%" PRIu32
                        " pixels do not fit in this machine's address space", path, width,
                        height);

    img->rgb = malloc((size_t)pixels * 3);
    if (!img->rgb)
        return snn_fail(err, SNN_ENOMEM, "%s: cannot allocate %" PRIu32 "x%" PRIu32
                        " RGB pixels", path, width, height);
    img->width = (int)width;
    img->height = (int)height;
    return SNN_OK;
}

void snn_image_free(snn_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}
