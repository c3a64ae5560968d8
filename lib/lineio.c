/* Line reading with a length limit, for caption files and vocabularies. */
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return SNN_OK;
    size_t grown = *cap ? *cap : 128;
    while (grown < need)
        grown *= 2;
    char *p = realloc(*buf, grown);
    if (!p)
        return SNN_ENOMEM;
    *buf = p;
    *cap = grown;
    return SNN_OK;
}

int snn_read_line(FILE *fp, char **buf, size_t *cap, size_t *len, size_t max, snn_error *err)
{
    size_t n = 0;
    int c;
    while ((c = getc(fp)) != EOF && c != '\n') {
        if (n >= max + 1) /* one spare byte for a "\r" before the "\n" */
            return snn_fail(err, SNN_ENOMEM, "line longer than %zu bytes", max);
        if (reserve(buf, cap, n + 2) != SNN_OK)
            return snn_fail(err, SNN_ENOMEM, "out of memory reading a line of %zu bytes", n);
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && ferror(fp))
        return snn_fail(err, SNN_EIO, "read failed: %s", strerror(errno));
    if (c == EOF && n == 0)
        return SNN_EOF;

    if (n > 0 && (*buf)[n - 1] == '\r')
        n--;
    if (n > max)
        return snn_fail(err, SNN_ENOMEM, "line longer than %zu bytes", max);
    if (reserve(buf, cap, n + 1) != SNN_OK)
        return snn_fail(err, SNN_ENOMEM, "out of memory reading a line of %zu bytes", n);
    (*buf)[n] = '\0';
    *len = n;
    return SNN_OK;
}
