/* Resizing an RGB image to the S x S float tensor the image encoder reads.
 *
 * The two axes are resampled independently: output pixel (y, x) is the sum of
 * wy(j) * wx(k) * in(j, k) over the input rows j and columns k that its taps reach.
 * The weights are computed where they are used, so the function needs no buffer
 * and cannot fail. */
#include "image.h"

#include <stdint.h>

/* Input indices [first, first + count) that output index i of one axis reads. */
typedef struct {
    int first, count;
} tap_range;

/* Shrinking, output i covers the input interval [i*in/out, (i+1)*in/out). Scaled by
 * out, that is [i*in, (i+1)*in), and input pixel j is [j*out, (j+1)*out), so the
 * coverage is exact in integers. */
static tap_range area_range(int in, int out, int i)
{
    int64_t start = (int64_t)i * in, end = (int64_t)(i + 1) * in;
    tap_range r;
    r.first = (int)(start / out);
    r.count = (int)((end - 1) / out) - r.first + 1;
    return r;
}

/* Returns the part of input pixel j inside output i's interval, divided by the
 * interval's length in/out, so the weights of one output sum to 1. */
static double area_weight(int in, int out, int i, int j)
{
    int64_t start = (int64_t)i * in, end = (int64_t)(i + 1) * in;
    int64_t lo = (int64_t)j * out, hi = (int64_t)(j + 1) * out;
    if (lo < start)
        lo = start;
    if (hi > end)
        hi = end;
    return hi > lo ? (double)(hi - lo) / in : 0.0;
}

/* Enlarging, output i samples the input at src = (i + 0.5)*in/out - 0.5 (pixel
 * centres at half-integers), clamped to [0, in - 1]. It returns the first tap
 * floor(src) and stores the second tap's weight src - floor(src) in lambda. */
static int bilinear_source(int in, int out, int i, double *lambda)
{
    double src = (i + 0.5) * in / out - 0.5;
    if (src < 0)
        src = 0;
    int first = (int)src;
    *lambda = src - first;
    if (first >= in - 1) {
        first = in - 1;
        *lambda = 0;
    }
    return first;
}

static tap_range axis_range(int in, int out, int i)
{
    if (out < in)
        return area_range(in, out, i);
    double lambda;
    tap_range r = {bilinear_source(in, out, i, &lambda), 1};
    if (lambda > 0)
        r.count = 2;
    return r;
}

/* Weight of input index j, one of the taps axis_range(in, out, i) returned. */
static double axis_weight(int in, int out, int i, int j)
{
    if (out < in)
        return area_weight(in, out, i, j);
    double lambda;
    int first = bilinear_source(in, out, i, &lambda);
    return j == first ? 1.0 - lambda : lambda;
}

/* Resamples output pixel (y, x) of an S x S grid into sum[3], on the 0..255 scale. */
static void resample_pixel(double sum[3], const snn_image *img, int S, int y, int x)
{
    int W = img->width, H = img->height;
    tap_range rows = axis_range(H, S, y), cols = axis_range(W, S, x);
    sum[0] = sum[1] = sum[2] = 0;

    for (int j = rows.first; j < rows.first + rows.count; j++) {
        double wy = axis_weight(H, S, y, j);
        const uint8_t *line = img->rgb + (size_t)j * W * 3;
        for (int k = cols.first; k < cols.first + cols.count; k++) {
            double w = wy * axis_weight(W, S, x, k);
            for (int c = 0; c < 3; c++)
                sum[c] += w * line[(size_t)k * 3 + c];
        }
    }
}

/* (H,W,3) uint8 -> (3,S,S) float */
void snn_image_to_tensor(float *out, const snn_image *img, int S, const float mean[3],
                         const float std[3])
{
    for (int y = 0; y < S; y++) {
        for (int x = 0; x < S; x++) {
            double sum[3];
            resample_pixel(sum, img, S, y, x);
            for (int c = 0; c < 3; c++)
                out[((size_t)c * S + y) * S + x] =
                    (float)((sum[c] / 255.0 - mean[c]) / std[c]);
        }
    }
}
