#include "tsv.h"

void tsv_put_field(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\t': fputs("\\t", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\\': fputs("\\\\", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* Unescapes the field that starts at s and ends at the next raw tab or at the
 * end of the line, in place: the unescaped text is never longer. Sets *next to
 * the start of the following field, or NULL after the last one. Returns 0, or
 * -1 on a bad escape. */
static int unescape_field(char *s, char **next)
{
    char *out = s;
    for (; *s && *s != '\t'; s++) {
        if (*s != '\\') {
            *out++ = *s;
            continue;
        }
        switch (*++s) {
        case 't': *out++ = '\t'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case '\\': *out++ = '\\'; break;
        default: return -1;
        }
    }
    *next = *s == '\t' ? s + 1 : NULL;
    *out = '\0';
    return 0;
}

int tsv_split(char *line, char **fields, int max)
{
    int n = 0;
    for (char *s = line; s;) {
        if (n == max)
            return max + 1;
        fields[n++] = s;
        if (unescape_field(s, &s))
            return -1;
    }
    return n;
}
