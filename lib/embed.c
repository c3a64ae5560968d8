/* Token embeddings from a spike record: the temporal readout and L2
 * normalisation of the model, applied to stored spike values. */
#include "similarity.h"

#include <math.h>

#include "stream.h"

/* The same eps as snn_l2norm_forward, so that embeddings from a stream equal the
 * model's own output. */
#define EMBED_NORM_EPS 1e-12f

/* values (T,n,D), readout (T) -> out (n,D) */
int snn_embed_spikes(float *out, const uint8_t *values, int T, int n, int D,
                     const float *readout)
{
    if (T < 1 || T > SNN_STREAM_MAX_T || n < 0 || D < 1)
        return SNN_EINVAL;
    size_t step = (size_t)n * (size_t)D;

    for (int r = 0; r < n; r++) {
        float *y = out + (size_t)r * D;

        /* Same order of float additions as snn_readout_forward. */
        for (int d = 0; d < D; d++) {
            float sum = 0.0f;
            for (int t = 0; t < T; t++)
                sum += readout[t] * (float)values[(size_t)t * step + (size_t)r * D + d];
            y[d] = sum;
        }

        double sq = 0.0;
        for (int d = 0; d < D; d++)
            sq += (double)y[d] * y[d];
        float inv = 1.0f / fmaxf((float)sqrt(sq), EMBED_NORM_EPS);
        for (int d = 0; d < D; d++)
            y[d] *= inv;
    }
    return SNN_OK;
}
