/* Learning a WordPiece vocabulary from captions: count basic tokens and their
 * characters, then rank them (see snn_vocab_builder in text.h). */
#include "text.h"

#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "vocab_internal.h"

static const char *const special_tokens[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
#define N_SPECIAL (sizeof special_tokens / sizeof special_tokens[0])

typedef struct {
    char *key;
    uint64_t count;
} entry;

/* Occurrence counts of strings. */
typedef struct {
    snn_strmap index; /* key -> position in entries */
    entry *entries;
    size_t n, cap;
} counter;

struct snn_vocab_builder {
    counter words; /* basic tokens */
    counter chars; /* code points of the basic tokens, as UTF-8 */
    snn_error *err; /* of the snn_vocab_builder_add call in progress */
};

static int counter_add(counter *c, const char *key, size_t len)
{
    long at = snn_strmap_get(&c->index, key, len);
    if (at >= 0) {
        c->entries[at].count++;
        return SNN_OK;
    }
    if (c->n == UINT32_MAX)
        return SNN_ENOMEM;
    if (c->n == c->cap) {
        size_t grown = c->cap ? c->cap * 2 : 1024;
        entry *p = realloc(c->entries, grown * sizeof *p);
        if (!p)
            return SNN_ENOMEM;
        c->entries = p;
        c->cap = grown;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return SNN_ENOMEM;
    memcpy(copy, key, len);
    copy[len] = '\0';
    if (snn_strmap_put(&c->index, copy, (uint32_t)c->n) != SNN_OK) {
        free(copy);
        return SNN_ENOMEM;
    }
    c->entries[c->n++] = (entry){copy, 1};
    return SNN_OK;
}

static void counter_free(counter *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->entries[i].key);
    free(c->entries);
    snn_strmap_free(&c->index);
}

static size_t utf8_char_len(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead < 0xE0)
        return 2;
    return lead < 0xF0 ? 3 : 4;
}

static int count_word(const char *word, void *ctx)
{
    snn_vocab_builder *b = ctx;
    if (counter_add(&b->words, word, strlen(word)) != SNN_OK)
        return snn_fail(b->err, SNN_ENOMEM, "out of memory counting words");

    /* Basic tokens are valid UTF-8, so lead bytes give the character lengths. */
    for (const char *p = word; *p;) {
        size_t len = utf8_char_len((unsigned char)*p);
        if (counter_add(&b->chars, p, len) != SNN_OK)
            return snn_fail(b->err, SNN_ENOMEM, "out of memory counting characters");
        p += len;
    }
    return 0;
}

snn_vocab_builder *snn_vocab_builder_new(snn_error *err)
{
    snn_vocab_builder *b = snn_zalloc(1, sizeof *b);
    if (b && snn_strmap_init(&b->words.index) == SNN_OK &&
        snn_strmap_init(&b->chars.index) == SNN_OK)
        return b;
    snn_vocab_builder_free(b);
    snn_fail(err, SNN_ENOMEM, "out of memory for a vocabulary builder");
    return NULL;
}

int snn_vocab_builder_add(snn_vocab_builder *b, const char *caption, snn_error *err)
{
    b->err = err;
    int rc = snn_basic_tokenize(caption, count_word, b, err);
    b->err = NULL;
    return rc;
}

void snn_vocab_builder_free(snn_vocab_builder *b)
{
    if (!b)
        return;
    counter_free(&b->words);
    counter_free(&b->chars);
    free(b);
}

/* Most frequent first; ties in byte order, which for UTF-8 is code point order. */
static int compare_entries(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->key, b->key);
}

/* Copies the entries that pass keep() and sorts them by rank. */
static entry *ranked(const counter *c, int (*keep)(const entry *, int), int min_count,
                     size_t *n_out)
{
    entry *out = snn_alloc(c->n, sizeof *out);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        if (keep(&c->entries[i], min_count))
            out[n++] = c->entries[i];
    qsort(out, n, sizeof *out, compare_entries);
    *n_out = n;
    return out;
}

static int keep_any(const entry *e, int min_count)
{
    (void)e;
    (void)min_count;
    return 1;
}

/* Whole words of 2 to SNN_WORDPIECE_MAX_CHARS code points; single characters
 * are already in the vocabulary and longer words always become [UNK]. */
static int keep_word(const entry *e, int min_count)
{
    size_t chars = 0;
    for (const char *p = e->key; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    return e->count >= (uint64_t)min_count && chars >= 2 && chars <= SNN_WORDPIECE_MAX_CHARS;
}

typedef struct {
    char **tokens;
    size_t n, max;
} token_list;

static int push_token(token_list *t, const char *prefix, const char *key)
{
    size_t a = strlen(prefix), b = strlen(key);
    char *s = malloc(a + b + 1);
    if (!s)
        return SNN_ENOMEM;
    memcpy(s, prefix, a);
    memcpy(s + a, key, b + 1);
    t->tokens[t->n++] = s;
    return SNN_OK;
}

/* Fills t: special tokens, then character pairs, then words, while room lasts. */
static int fill_tokens(token_list *t, const entry *chars, size_t n_chars, const entry *words,
                       size_t n_words)
{
    for (size_t i = 0; i < N_SPECIAL; i++)
        if (push_token(t, "", special_tokens[i]) != SNN_OK)
            return SNN_ENOMEM;
    for (size_t i = 0; i < n_chars && t->n + 2 <= t->max; i++) {
        if (push_token(t, "", chars[i].key) != SNN_OK)
            return SNN_ENOMEM;
        if (push_token(t, "##", chars[i].key) != SNN_OK)
            return SNN_ENOMEM;
    }
    for (size_t i = 0; i < n_words && t->n < t->max; i++)
        if (push_token(t, "", words[i].key) != SNN_OK)
            return SNN_ENOMEM;
    return SNN_OK;
}

int snn_vocab_builder_finish(snn_vocab **out, const snn_vocab_builder *b, size_t max_size,
                             int min_count, snn_error *err)
{
    *out = NULL;
    if (max_size < N_SPECIAL || max_size > SNN_VOCAB_MAX_SIZE)
        return snn_fail(err, SNN_EINVAL, "vocabulary size %zu is out of range: use %zu to %u",
                        max_size, N_SPECIAL, SNN_VOCAB_MAX_SIZE);
    if (min_count < 1)
        return snn_fail(err, SNN_EINVAL, "minimum word count %d is out of range: use 1 or more",
                        min_count);

    size_t n_chars = 0, n_words = 0;
    entry *chars = ranked(&b->chars, keep_any, min_count, &n_chars);
    entry *words = ranked(&b->words, keep_word, min_count, &n_words);
    size_t upper = N_SPECIAL + 2 * n_chars + n_words;
    token_list t = {snn_alloc(upper < max_size ? upper : max_size, sizeof(char *)), 0, max_size};
    int rc = chars && words && t.tokens ? fill_tokens(&t, chars, n_chars, words, n_words)
                                        : SNN_ENOMEM;
    free(chars);
    free(words);
    if (rc != SNN_OK) {
        for (size_t i = 0; i < t.n; i++)
            free(t.tokens[i]);
        free(t.tokens);
        return snn_fail(err, SNN_ENOMEM, "out of memory building a vocabulary of %zu tokens",
                        max_size);
    }
    return snn_vocab_adopt(out, t.tokens, t.n, err);
}

int snn_vocab_build(snn_vocab **out, const char *const *captions, size_t n, size_t max_size,
                    int min_count, snn_error *err)
{
    *out = NULL;
    snn_vocab_builder *b = snn_vocab_builder_new(err);
    if (!b)
        return SNN_ENOMEM;
    int rc = SNN_OK;
    for (size_t i = 0; i < n && rc == SNN_OK; i++) {
        rc = snn_vocab_builder_add(b, captions[i], err);
        if (rc != SNN_OK)
            snn_fail_prefix(err, "caption %zu", i);
    }
    if (rc == SNN_OK)
        rc = snn_vocab_builder_finish(out, b, max_size, min_count, err);
    snn_vocab_builder_free(b);
    return rc;
}
