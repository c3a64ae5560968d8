/* The BERT basic tokeniser, following the behaviour of BasicTokenizer in
 * google-research/bert tokenization.py with do_lower_case=True: clean the text,
 * space out CJK ideographs, split on whitespace, then per word lower-case,
 * decompose (NFD), drop non-spacing marks and split off punctuation. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

typedef int32_t codepoint;

/* Buffers reused across the words of one caption. */
typedef struct {
    codepoint *text; /* cleaned caption */
    size_t n_text;
    uint8_t *utf8;    /* one word or piece as UTF-8, 4 * nfd_cap + 1 bytes */
    codepoint *nfd;   /* one word after decomposition */
    size_t nfd_cap;
} scratch;

static int is_whitespace(codepoint c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return 1;
    return utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

/* BERT counts \t \n \r as whitespace and every other C* category (Cc, Cf, Cs,
 * Co and unassigned Cn) as control characters to drop. */
static int is_control(codepoint c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN:
        return 1;
    default:
        return 0;
    }
}

/* Category P*, plus the ASCII symbols BERT also splits on ($ + < = > ^ ` | ~). */
static int is_punctuation(codepoint c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return 1;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

/* The CJK Unified Ideographs blocks BERT treats as one-character words; Hangul,
 * kana and CJK punctuation are not in them. */
static int is_cjk(codepoint c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Python's str.split(), which BERT uses after cleaning, also splits on the line
 * and paragraph separators that cleaning leaves in place. */
static int is_separator(codepoint c)
{
    utf8proc_category_t cat = utf8proc_category(c);
    return c == ' ' || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

/* Decodes text into s->text, dropping NUL, U+FFFD and control characters,
 * turning whitespace into ' ' and surrounding CJK ideographs with spaces. */
static int clean_text(scratch *s, const char *text, size_t len, snn_error *err)
{
    /* Each code point takes at least one byte and yields at most three. */
    s->text = snn_alloc(len * 3 + 1, sizeof *s->text);
    if (!s->text)
        return snn_fail(err, SNN_ENOMEM, "out of memory for a caption of %zu bytes", len);

    size_t pos = 0, n = 0;
    while (pos < len) {
        codepoint c;
        utf8proc_ssize_t used = utf8proc_iterate((const uint8_t *)text + pos,
                                                 (utf8proc_ssize_t)(len - pos), &c);
        if (used < 0)
            return snn_fail(err, SNN_EFORMAT, "invalid UTF-8 at byte %zu: convert the text "
                            "to UTF-8", pos);
        pos += (size_t)used;

        if (c == 0 || c == 0xFFFD || is_control(c))
            continue;
        if (is_whitespace(c)) {
            s->text[n++] = ' ';
        } else if (is_cjk(c)) {
            s->text[n++] = ' ';
            s->text[n++] = c;
            s->text[n++] = ' ';
        } else {
            s->text[n++] = c;
        }
    }
    s->n_text = n;
    return SNN_OK;
}

/* Approximates Unicode's Case_Ignorable: marks, format characters, modifiers
 * and the apostrophes, periods and colons that may sit inside a word. */
static int is_case_ignorable(codepoint c)
{
    static const codepoint mid[] = {0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018,
                                    0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55,
                                    0xFF07, 0xFF0E, 0xFF1A};
    utf8proc_category_t cat = utf8proc_category(c);
    if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME ||
        cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_LM ||
        cat == UTF8PROC_CATEGORY_SK)
        return 1;
    for (size_t i = 0; i < sizeof mid / sizeof mid[0]; i++)
        if (c == mid[i])
            return 1;
    return 0;
}

static int is_cased(codepoint c)
{
    utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
           cat == UTF8PROC_CATEGORY_LT;
}

/* Python's str.lower() maps capital sigma to final sigma at the end of a word
 * (cased letter before it, none after it, skipping case-ignorable characters).
 * NOTE: Cased and Case_Ignorable are approximated by general categories. */
static codepoint lower_sigma(const codepoint *word, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && is_case_ignorable(word[j - 1]))
        j--;
    if (j == 0 || !is_cased(word[j - 1]))
        return 0x3C3;

    size_t k = i + 1;
    while (k < n && is_case_ignorable(word[k]))
        k++;
    return k < n && is_cased(word[k]) ? 0x3C3 : 0x3C2;
}

/* Lower-cases and decomposes one word into s->nfd; returns its length or < 0. */
static long lower_and_decompose(scratch *s, const codepoint *word, size_t n, snn_error *err)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        codepoint c = word[i] == 0x3A3 ? lower_sigma(word, n, i) : utf8proc_tolower(word[i]);
        bytes += (size_t)utf8proc_encode_char(c, s->utf8 + bytes);
    }

    for (;;) {
        utf8proc_ssize_t got = utf8proc_decompose(s->utf8, (utf8proc_ssize_t)bytes, s->nfd,
                                                  (utf8proc_ssize_t)s->nfd_cap,
                                                  UTF8PROC_DECOMPOSE);
        if (got < 0)
            return snn_fail(err, SNN_EFORMAT, "cannot decompose a word: %s",
                            utf8proc_errmsg(got));
        if ((size_t)got <= s->nfd_cap)
            return (long)got;

        codepoint *bigger = snn_alloc((size_t)got, sizeof *bigger);
        uint8_t *utf8 = snn_alloc((size_t)got * 4 + 1, 1);
        if (!bigger || !utf8) {
            free(bigger);
            free(utf8);
            return snn_fail(err, SNN_ENOMEM, "out of memory decomposing a word");
        }
        memcpy(utf8, s->utf8, bytes);
        free(s->nfd);
        free(s->utf8);
        s->nfd = bigger;
        s->utf8 = utf8;
        s->nfd_cap = (size_t)got;
    }
}

static int emit_piece(scratch *s, const codepoint *cps, size_t n,
                      int (*emit)(const char *, void *), void *ctx)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += (size_t)utf8proc_encode_char(cps[i], s->utf8 + bytes);
    s->utf8[bytes] = '\0';
    return emit((const char *)s->utf8, ctx);
}

/* Drops non-spacing marks in place, then emits each run of other characters
 * and each punctuation character as its own word. */
static int split_and_emit(scratch *s, size_t n, int (*emit)(const char *, void *), void *ctx)
{
    size_t unmarked = 0;
    for (size_t i = 0; i < n; i++)
        if (utf8proc_category(s->nfd[i]) != UTF8PROC_CATEGORY_MN)
            s->nfd[unmarked++] = s->nfd[i];

    size_t start = 0;
    for (size_t i = 0; i < unmarked; i++) {
        if (!is_punctuation(s->nfd[i]))
            continue;
        int rc = 0;
        if (i > start)
            rc = emit_piece(s, s->nfd + start, i - start, emit, ctx);
        if (rc == 0)
            rc = emit_piece(s, s->nfd + i, 1, emit, ctx);
        if (rc != 0)
            return rc;
        start = i + 1;
    }
    return unmarked > start ? emit_piece(s, s->nfd + start, unmarked - start, emit, ctx) : 0;
}

static int alloc_word_buffers(scratch *s, size_t n_text, snn_error *err)
{
    /* A word of n code points is at most 4n bytes. Canonical decompositions are
     * at most four code points long, and lower_and_decompose grows both
     * buffers should a later Unicode version exceed that. */
    s->nfd_cap = n_text * 4 + 4;
    s->nfd = snn_alloc(s->nfd_cap, sizeof *s->nfd);
    s->utf8 = snn_alloc(s->nfd_cap * 4 + 1, 1);
    if (!s->nfd || !s->utf8)
        return snn_fail(err, SNN_ENOMEM, "out of memory for a caption of %zu characters", n_text);
    return SNN_OK;
}

static int tokenize_words(scratch *s, int (*emit)(const char *, void *), void *ctx,
                          snn_error *err)
{
    size_t i = 0;
    while (i < s->n_text) {
        if (is_separator(s->text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < s->n_text && !is_separator(s->text[i]))
            i++;

        long n = lower_and_decompose(s, s->text + start, i - start, err);
        if (n < 0)
            return (int)n;
        int rc = split_and_emit(s, (size_t)n, emit, ctx);
        if (rc != 0)
            return rc;
    }
    return SNN_OK;
}

int snn_basic_tokenize(const char *text, int (*emit)(const char *word, void *ctx), void *ctx,
                       snn_error *err)
{
    size_t len = strlen(text);
    if (len > SNN_TEXT_MAX_BYTES)
        return snn_fail(err, SNN_ENOMEM, "caption of %zu bytes is longer than the limit of "
                        "%u bytes: split it", len, SNN_TEXT_MAX_BYTES);

    scratch s = {0};
    int rc = clean_text(&s, text, len, err);
    if (rc == SNN_OK)
        rc = alloc_word_buffers(&s, s.n_text, err);
    if (rc == SNN_OK)
        rc = tokenize_words(&s, emit, ctx, err);

    free(s.text);
    free(s.utf8);
    free(s.nfd);
    return rc;
}
