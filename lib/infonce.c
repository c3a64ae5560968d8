/* InfoNCE with margin over an in-batch similarity matrix, both retrieval
 * directions, with its gradient. */
#include "similarity.h"

#include <math.h>

/* One query's term over a line of the matrix: entries line[k*stride] for k < B,
 * the positive at k = pos. Returns log(1 + sum_{k!=pos} exp(x_k)) with
 * x_k = (s_k - s_pos + margin) / tau, computed as a log-sum-exp that includes
 * the constant term exp(0). With dline, adds scale * d(term)/d(s) to it. */
static double contrast_line(float *dline, const float *line, size_t stride, int pos, int B,
                            float tau, float margin, double scale)
{
    double inv_tau = 1.0 / tau, positive = line[(size_t)pos * stride];
    double top = 0.0;
    for (int k = 0; k < B; k++)
        if (k != pos)
            top = fmax(top, (line[(size_t)k * stride] - positive + margin) * inv_tau);

    double sum = exp(-top);
    for (int k = 0; k < B; k++)
        if (k != pos)
            sum += exp((line[(size_t)k * stride] - positive + margin) * inv_tau - top);
    if (!dline)
        return top + log(sum);

    /* d term / d s_k = p_k / tau for each negative, and the positive gets minus
     * their sum, where p is the softmax over {0, x_k}. */
    double dpositive = 0.0;
    for (int k = 0; k < B; k++) {
        if (k == pos)
            continue;
        double p = exp((line[(size_t)k * stride] - positive + margin) * inv_tau - top) / sum;
        dline[(size_t)k * stride] += (float)(scale * p * inv_tau);
        dpositive += scale * p * inv_tau;
    }
    dline[(size_t)pos * stride] -= (float)dpositive;
    return top + log(sum);
}

/* sim (B,B) -> loss; dsim (B,B) += weight * dloss/dsim */
double snn_infonce(float *dsim, const float *sim, int B, float temperature, float margin,
                   float weight)
{
    if (B < 1)
        return 0.0;
    double scale = (double)weight / B;
    double images = 0.0, captions = 0.0;

    for (int i = 0; i < B; i++)
        images += contrast_line(dsim ? dsim + (size_t)i * B : NULL, sim + (size_t)i * B, 1, i,
                                B, temperature, margin, scale);
    for (int j = 0; j < B; j++)
        captions += contrast_line(dsim ? dsim + j : NULL, sim + j, (size_t)B, j, B,
                                  temperature, margin, scale);
    return images / B + captions / B;
}
