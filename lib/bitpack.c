/* Bit packing of spike values, least significant bit first (layout in stream.h
 * and man/snn-stream.5). One-bit spikes, the common case, take a byte-at-a-time
 * path, and other widths go through a bit accumulator. */
#include "stream.h"

#include <string.h>

uint64_t snn_bitpack_size(uint64_t count, unsigned bits)
{
    return (count / 8) * bits + ((count % 8) * bits + 7) / 8;
}

static size_t pack_one_bit(uint8_t *dst, const uint8_t *values, size_t count)
{
    size_t i = 0;
    for (; i < count; i += 8) {
        size_t m = count - i < 8 ? count - i : 8;
        uint8_t byte = 0, any = 0;
        for (size_t j = 0; j < m; j++) {
            byte |= (uint8_t)((values[i + j] & 1u) << j);
            any |= values[i + j];
        }
        if (any > 1)
            break;
        dst[i / 8] = byte;
    }
    if (i >= count)
        return count;

    /* Some value in this group of eight is above 1: find which. */
    while (values[i] <= 1)
        i++;
    return i;
}

size_t snn_bitpack(uint8_t *dst, const uint8_t *values, size_t count, unsigned bits)
{
    if (bits == 8) {
        memcpy(dst, values, count);
        return count;
    }
    if (bits == 1)
        return pack_one_bit(dst, values, count);

    uint32_t acc = 0;  /* pending bits, the oldest in the low end */
    unsigned have = 0; /* number of pending bits, below 8 between values */
    size_t out = 0;
    for (size_t i = 0; i < count; i++) {
        if (values[i] >> bits)
            return i;
        acc |= (uint32_t)values[i] << have;
        have += bits;
        while (have >= 8) {
            dst[out++] = (uint8_t)acc;
            acc >>= 8;
            have -= 8;
        }
    }
    if (have)
        dst[out] = (uint8_t)acc;
    return count;
}

static int unpack_one_bit(uint8_t *values, const uint8_t *src, size_t count)
{
    size_t whole = count / 8;
    for (size_t i = 0; i < whole; i++)
        for (unsigned j = 0; j < 8; j++)
            values[8 * i + j] = (src[i] >> j) & 1;

    size_t rest = count % 8;
    if (rest == 0)
        return 0;
    for (unsigned j = 0; j < rest; j++)
        values[8 * whole + j] = (src[whole] >> j) & 1;
    return src[whole] >> rest ? -1 : 0;
}

int snn_bitunpack(uint8_t *values, const uint8_t *src, size_t count, unsigned bits)
{
    if (bits == 8) {
        memcpy(values, src, count);
        return 0;
    }
    if (bits == 1)
        return unpack_one_bit(values, src, count);

    const uint32_t mask = (1u << bits) - 1;
    uint32_t acc = 0;
    unsigned have = 0;
    size_t in = 0;
    for (size_t i = 0; i < count; i++) {
        if (have < bits) {
            acc |= (uint32_t)src[in++] << have;
            have += 8;
        }
        values[i] = (uint8_t)(acc & mask);
        acc >>= bits;
        have -= bits;
    }

    /* What is left of the last byte read is padding, which must be zero. */
    return acc ? -1 : 0;
}
