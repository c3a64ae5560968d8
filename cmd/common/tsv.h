/* Tab-separated lines as snn-rank and snn-fuse write and read them. A field
 * escapes tab, newline, carriage return and backslash as \t \n \r \\, so ids
 * holding those characters survive a round trip. */
#ifndef SNN_CLI_TSV_H
#define SNN_CLI_TSV_H

#include <stdio.h>

/* Writes s with those escapes. */
void tsv_put_field(FILE *fp, const char *s);

/* Splits line (its newline already removed) at tabs into at most max fields,
 * unescaping each in place. Returns the field count, max + 1 when there are
 * more fields than max, or -1 when a field contains an unknown escape or ends in
 * a lone backslash. */
int tsv_split(char *line, char **fields, int max);

#endif
