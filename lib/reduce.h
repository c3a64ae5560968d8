/* Sums over large float arrays whose result does not depend on the thread count.
 *
 * Each sum is split into blocks of a fixed size. Threads compute the block sums
 * in double, and one thread adds them in block order, so a result is the same
 * bit for bit with any number of OpenMP threads. */
#ifndef SNN_REDUCE_H
#define SNN_REDUCE_H

#include <stddef.h>

/* Partial sum over the items [begin, end) of a reduction; ctx is passed through. */
typedef double (*snn_block_sum_fn)(size_t begin, size_t end, void *ctx);

/* Splits [0, n) into blocks of `block` items (block > 0), calls fn on each block
 * in parallel and returns the block results added in block order. */
double snn_reduce_blocks(size_t n, size_t block, snn_block_sum_fn fn, void *ctx);

/* Dot product of x and y (n each), accumulated in double. */
double snn_dot(const float *x, const float *y, size_t n);

/* Adds the column sums of x (rows,C) to acc (C): acc[c] += sum_r x[r,c]. */
void snn_add_column_sums(float *acc, const float *x, size_t rows, int C);

/* Per-channel loops over (rows,C) give each thread a block of whole columns
 * and sum every column over the rows in order, so their results do not depend
 * on the block width either. Wide blocks matter: a 16-column block reads 64
 * bytes per row, and with C = 1024 each of those reads lands on another page. */
#define SNN_MAX_COLUMN_BLOCK 512

/* Returns the column block width for C channels: about C / threads, rounded up
 * to a multiple of 16 floats (one cache line), at most SNN_MAX_COLUMN_BLOCK. */
int snn_column_block(int C);

#endif
