/* Vocabularies: a token list whose line numbers are the ids, with a hash index. */
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "stream.h"
#include "strmap.h"
#include "vocab_internal.h"

struct snn_vocab {
    char **tokens;
    size_t n;
    snn_strmap index; /* token -> id; the later id for a repeated token */
    long unk;
    uint64_t fingerprint;
};

static void free_tokens(char **tokens, size_t n)
{
    if (!tokens)
        return;
    for (size_t i = 0; i < n; i++)
        free(tokens[i]);
    free(tokens);
}

int snn_vocab_adopt(snn_vocab **out, char **tokens, size_t n, snn_error *err)
{
    *out = NULL;
    snn_vocab *v = snn_zalloc(1, sizeof *v);
    if (!v || snn_strmap_init(&v->index) != SNN_OK) {
        free(v);
        free_tokens(tokens, n);
        return snn_fail(err, SNN_ENOMEM, "out of memory for a vocabulary of %zu tokens", n);
    }
    v->tokens = tokens;
    v->n = n;

    uint64_t hash = SNN_FNV1A64_INIT;
    for (size_t i = 0; i < n; i++) {
        if (snn_strmap_put(&v->index, tokens[i], (uint32_t)i) != SNN_OK) {
            snn_vocab_free(v);
            return snn_fail(err, SNN_ENOMEM, "out of memory for a vocabulary of %zu tokens", n);
        }
        hash = snn_fnv1a64(hash, tokens[i], strlen(tokens[i]));
        hash = snn_fnv1a64(hash, "\n", 1);
    }
    v->fingerprint = hash;
    v->unk = snn_vocab_find(v, "[UNK]");
    *out = v;
    return SNN_OK;
}

static int is_valid_utf8(const char *s, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t used = utf8proc_iterate((const uint8_t *)s + pos,
                                                 (utf8proc_ssize_t)(len - pos), &c);
        if (used < 0)
            return 0;
        pos += (size_t)used;
    }
    return 1;
}

/* Appends a copy of line to *tokens, growing the array by doubling. */
static int append_token(char ***tokens, size_t *n, size_t *cap, const char *line, size_t len)
{
    if (*n == *cap) {
        size_t grown = *cap ? *cap * 2 : 1024;
        char **p = realloc(*tokens, grown * sizeof *p);
        if (!p)
            return SNN_ENOMEM;
        *tokens = p;
        *cap = grown;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return SNN_ENOMEM;
    memcpy(copy, line, len + 1);
    (*tokens)[(*n)++] = copy;
    return SNN_OK;
}

/* Checks one line and appends it as the next token. */
static int add_line(char ***tokens, size_t *n, size_t *cap, const char *line, size_t len,
                    const char *path, snn_error *err)
{
    size_t lineno = *n + 1;
    if (*n >= SNN_VOCAB_MAX_SIZE)
        return snn_fail(err, SNN_ENOMEM, "%s: more than %u tokens: use a smaller vocabulary",
                        path, SNN_VOCAB_MAX_SIZE);
    if (strlen(line) != len)
        return snn_fail(err, SNN_EFORMAT, "%s: line %zu: contains a NUL byte: expected a "
                        "text file with one token per line", path, lineno);
    if (!is_valid_utf8(line, len))
        return snn_fail(err, SNN_EFORMAT, "%s: line %zu: invalid UTF-8", path, lineno);
    if (append_token(tokens, n, cap, line, len) != SNN_OK)
        return snn_fail(err, SNN_ENOMEM, "%s: out of memory at line %zu", path, lineno);
    return SNN_OK;
}

/* Reads every line of fp as a token; errors name path and line. */
static int read_tokens(FILE *fp, const char *path, char ***tokens, size_t *n, snn_error *err)
{
    char *line = NULL;
    size_t line_cap = 0, len = 0, cap = 0;
    int rc;
    for (;;) {
        rc = snn_read_line(fp, &line, &line_cap, &len, SNN_VOCAB_MAX_TOKEN_BYTES, err);
        if (rc == SNN_EOF) {
            rc = SNN_OK;
            break;
        }
        if (rc != SNN_OK) {
            snn_fail_prefix(err, "%s: line %zu", path, *n + 1);
            break;
        }
        rc = add_line(tokens, n, &cap, line, len, path, err);
        if (rc != SNN_OK)
            break;
    }
    free(line);
    return rc;
}

int snn_vocab_load(snn_vocab **out, const char *path, snn_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return snn_fail(err, SNN_EIO, "cannot open %s: %s", path, strerror(errno));

    char **tokens = NULL;
    size_t n = 0;
    int rc = read_tokens(fp, path, &tokens, &n, err);
    fclose(fp);
    if (rc == SNN_OK && n == 0)
        rc = snn_fail(err, SNN_EFORMAT, "%s: empty vocabulary: expected one token per line", path);
    if (rc != SNN_OK) {
        free_tokens(tokens, n);
        return rc;
    }
    return snn_vocab_adopt(out, tokens, n, err);
}

int snn_vocab_write(const snn_vocab *v, FILE *fp, snn_error *err)
{
    for (size_t i = 0; i < v->n; i++) {
        if (fputs(v->tokens[i], fp) == EOF || putc('\n', fp) == EOF)
            return snn_fail(err, SNN_EIO, "write failed: %s", strerror(errno));
    }
    return SNN_OK;
}

size_t snn_vocab_size(const snn_vocab *v)
{
    return v->n;
}

const char *snn_vocab_token(const snn_vocab *v, uint32_t id)
{
    return id < v->n ? v->tokens[id] : NULL;
}

long snn_vocab_find(const snn_vocab *v, const char *token)
{
    return snn_strmap_get(&v->index, token, strlen(token));
}

long snn_vocab_find_bytes(const snn_vocab *v, const char *token, size_t len)
{
    return snn_strmap_get(&v->index, token, len);
}

long snn_vocab_unk(const snn_vocab *v)
{
    return v->unk;
}

uint64_t snn_vocab_fingerprint(const snn_vocab *v)
{
    return v->fingerprint;
}

void snn_vocab_free(snn_vocab *v)
{
    if (!v)
        return;
    free_tokens(v->tokens, v->n);
    snn_strmap_free(&v->index);
    free(v);
}
