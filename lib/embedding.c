/* Token embedding plus optional learned position embedding. */
#include "layers.h"
#include "reduce.h"

/* ids, positions (rows) -> out (rows,C); table (V,C), pos (P,C) */
void snn_embedding_forward(float *out, const int *ids, const int *positions,
                           const float *table, const float *pos, size_t rows, int C)
{
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *e = table + (size_t)ids[r] * C;
        const float *q = pos ? pos + (size_t)positions[r] * C : NULL;
        float *y = out + r * (size_t)C;

        for (int c = 0; c < C; c++)
            y[c] = q ? e[c] + q[c] : e[c];
    }
}

/* Adds each row of src into dst[index[r]]. Rows may share an index, so threads
 * split the channels instead of the rows and each adds its rows in order. */
static void scatter_add(float *dst, const int *index, const float *src, size_t rows, int C)
{
    int width = snn_column_block(C);
    int nblocks = (C + width - 1) / width;

#pragma omp parallel for schedule(static)
    for (int k = 0; k < nblocks; k++) {
        int c0 = k * width;
        int c1 = c0 + width < C ? c0 + width : C;

        for (size_t r = 0; r < rows; r++) {
            float *d = dst + (size_t)index[r] * C;
            const float *s = src + r * (size_t)C;
            for (int c = c0; c < c1; c++)
                d[c] += s[c];
        }
    }
}

/* dout (rows,C) -> dtable (V,C), dpos (P,C) */
void snn_embedding_backward(float *dtable, float *dpos, const float *dout, const int *ids,
                            const int *positions, size_t rows, int C)
{
    if (dtable)
        scatter_add(dtable, ids, dout, rows, C);
    if (dpos && positions)
        scatter_add(dpos, positions, dout, rows, C);
}
