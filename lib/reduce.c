#include "reduce.h"

#include <omp.h>

/* Block results computed per parallel region, which bounds the stack array. */
#define BLOCKS_PER_ROUND 256

double snn_reduce_blocks(size_t n, size_t block, snn_block_sum_fn fn, void *ctx)
{
    size_t nblocks = (n + block - 1) / block;
    double total = 0.0;

    for (size_t first = 0; first < nblocks; first += BLOCKS_PER_ROUND) {
        size_t count = nblocks - first;
        if (count > BLOCKS_PER_ROUND)
            count = BLOCKS_PER_ROUND;
        double partial[BLOCKS_PER_ROUND];

#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < count; k++) {
            size_t begin = (first + k) * block;
            size_t end = begin + block < n ? begin + block : n;
            partial[k] = fn(begin, end, ctx);
        }

        for (size_t k = 0; k < count; k++)
            total += partial[k];
    }
    return total;
}

typedef struct {
    const float *x, *y;
} dot_args;

static double dot_block(size_t begin, size_t end, void *ctx)
{
    const dot_args *a = ctx;
    double sum = 0.0;
    for (size_t i = begin; i < end; i++)
        sum += (double)a->x[i] * a->y[i];
    return sum;
}

double snn_dot(const float *x, const float *y, size_t n)
{
    dot_args a = {x, y};
    return snn_reduce_blocks(n, 4096, dot_block, &a);
}

int snn_column_block(int C)
{
    int threads = omp_get_max_threads();
    int width = (C + threads - 1) / threads;

    width = (width + 15) / 16 * 16;
    if (width < 16)
        width = 16;
    return width < SNN_MAX_COLUMN_BLOCK ? width : SNN_MAX_COLUMN_BLOCK;
}

void snn_add_column_sums(float *acc, const float *x, size_t rows, int C)
{
    int width = snn_column_block(C);
    int nblocks = (C + width - 1) / width;

#pragma omp parallel for schedule(static)
    for (int k = 0; k < nblocks; k++) {
        int c0 = k * width;
        int c1 = c0 + width < C ? c0 + width : C;
        double sum[SNN_MAX_COLUMN_BLOCK] = {0};

        for (size_t r = 0; r < rows; r++) {
            const float *row = x + r * (size_t)C;
            for (int c = c0; c < c1; c++)
                sum[c - c0] += row[c];
        }
        for (int c = c0; c < c1; c++)
            acc[c] += (float)sum[c - c0];
    }
}
