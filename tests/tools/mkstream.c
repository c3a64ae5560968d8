/* mkstream: writes an snn stream from a text description, for tests only.
 *
 * Usage: mkstream < DESCRIPTION > STREAM
 *
 * The description is whitespace-separated words; '#' starts a comment that runs
 * to the end of the line. Header settings come first, then the records:
 *
 *   kind image            tokens, image, text, fused or scores
 *   model 0x1f            model fingerprint (decimal or 0x hex) [0]
 *   vocab 0x2a            vocabulary fingerprint [0]
 *   steps 2               time steps T (spike streams)
 *   dim 4                 D (spike and fused streams)
 *   bits 1                bits per spike value (spike streams)
 *   readout 1 1           T temporal readout weights (spike streams)
 *   record ID KEY N       then the payload: T*N*D values (image, text),
 *                         N token ids (tokens), N*D floats (fused), N floats (scores)
 *
 * A KEY of '-' stores an empty key. Exits 1 with a message on bad input. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

static int word_number; /* for messages */

static void fail(const char *fmt, const char *value)
{
    fprintf(stderr, "mkstream: word %d: ", word_number);
    fprintf(stderr, fmt, value);
    fputc('\n', stderr);
    exit(1);
}

/* Reads the next word into buf, skipping comments; returns 0 at the end. */
static int next_word(char *buf, size_t size)
{
    int c;
    for (;;) {
        c = getchar();
        if (c == '#')
            while (c != '\n' && c != EOF)
                c = getchar();
        if (c == EOF)
            return 0;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
    }
    size_t n = 0;
    while (c != EOF && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#') {
        if (n + 1 >= size)
            fail("word longer than %s bytes", "4096");
        buf[n++] = (char)c;
        c = getchar();
    }
    if (c == '#')
        ungetc(c, stdin);
    buf[n] = '\0';
    word_number++;
    return 1;
}

static char *need_word(char *buf, size_t size)
{
    if (!next_word(buf, size))
        fail("unexpected end of the description%s", "");
    return buf;
}

static uint64_t parse_u64(const char *s)
{
    char *end;
    errno = 0;
    uint64_t v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        fail("invalid integer '%s'", s);
    return v;
}

static float parse_float(const char *s)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end)
        fail("invalid number '%s'", s);
    return v;
}

static uint32_t parse_kind(const char *s)
{
    const char *names[] = {"tokens", "image", "text", "fused", "scores"};
    for (uint32_t k = 0; k < 5; k++)
        if (strcmp(s, names[k]) == 0)
            return k + 1;
    fail("unknown kind '%s': use tokens, image, text, fused or scores", s);
    return 0;
}

/* Reads one record's payload for the stream's kind and writes it. */
static void write_record(snn_stream_writer *w, const snn_stream_info *info, char *word,
                         size_t size)
{
    char id[SNN_STREAM_MAX_ID + 2], key[SNN_STREAM_MAX_ID + 2];
    snprintf(id, sizeof id, "%s", need_word(word, size));
    snprintf(key, sizeof key, "%s", need_word(word, size));
    snn_record rec = {id, strcmp(key, "-") ? key : "", (uint32_t)parse_u64(need_word(word, size)),
                      NULL, NULL, NULL};

    int spikes = info->kind == SNN_STREAM_IMAGE || info->kind == SNN_STREAM_TEXT;
    size_t count = rec.n;
    if (spikes)
        count *= (size_t)info->time_steps * info->dim;
    else if (info->kind == SNN_STREAM_FUSED)
        count *= info->dim;

    uint8_t *values = malloc(count + 1);
    uint32_t *tokens = malloc(4 * count + 4);
    float *floats = malloc(4 * count + 4);
    if (!values || !tokens || !floats)
        fail("out of memory%s", "");
    for (size_t k = 0; k < count; k++) {
        need_word(word, size);
        if (spikes)
            values[k] = (uint8_t)parse_u64(word);
        else if (info->kind == SNN_STREAM_TOKENS)
            tokens[k] = (uint32_t)parse_u64(word);
        else
            floats[k] = parse_float(word);
    }
    rec.values = spikes ? values : NULL;
    rec.tokens = info->kind == SNN_STREAM_TOKENS ? tokens : NULL;
    rec.floats = info->kind >= SNN_STREAM_FUSED ? floats : NULL;

    snn_error err;
    if (snn_stream_write(w, &rec, &err) != SNN_OK)
        fail("%s", err.msg);
    free(values);
    free(tokens);
    free(floats);
}

int main(void)
{
    static char word[SNN_STREAM_MAX_ID + 2];
    snn_stream_info info = {0};
    snn_stream_writer *w = NULL;
    snn_error err;

    while (next_word(word, sizeof word)) {
        if (w && strcmp(word, "record") != 0)
            fail("'%s' after the first record: header settings come first", word);
        if (strcmp(word, "kind") == 0)
            info.kind = parse_kind(need_word(word, sizeof word));
        else if (strcmp(word, "model") == 0)
            info.model_fingerprint = parse_u64(need_word(word, sizeof word));
        else if (strcmp(word, "vocab") == 0)
            info.vocab_fingerprint = parse_u64(need_word(word, sizeof word));
        else if (strcmp(word, "steps") == 0)
            info.time_steps = (uint32_t)parse_u64(need_word(word, sizeof word));
        else if (strcmp(word, "dim") == 0)
            info.dim = (uint32_t)parse_u64(need_word(word, sizeof word));
        else if (strcmp(word, "bits") == 0)
            info.value_bits = (uint32_t)parse_u64(need_word(word, sizeof word));
        else if (strcmp(word, "readout") == 0)
            for (uint32_t t = 0; t < info.time_steps && t < SNN_STREAM_MAX_T; t++)
                info.readout[t] = parse_float(need_word(word, sizeof word));
        else if (strcmp(word, "record") == 0) {
            if (!w && !(w = snn_stream_writer_open(stdout, &info, 3, &err)))
                fail("%s", err.msg);
            write_record(w, &info, word, sizeof word);
        } else {
            fail("unknown setting '%s'", word);
        }
    }

    if (!w && !(w = snn_stream_writer_open(stdout, &info, 3, &err)))
        fail("%s", err.msg);
    if (snn_stream_writer_close(w, &err) != SNN_OK)
        fail("%s", err.msg);
    return fflush(stdout) == 0 ? 0 : 1;
}
