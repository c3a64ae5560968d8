/* WordPiece: each basic token is covered greedily by the longest vocabulary
 * entries from the left, continuation pieces carrying a "##" prefix, as in
 * BERT's WordpieceTokenizer. A token that cannot be covered, or is longer than
 * SNN_WORDPIECE_MAX_CHARS code points, becomes one [UNK]. */
#include "text.h"

#include <string.h>

#include "vocab_internal.h"

/* A positive emit status that stops the basic tokeniser once max_len is full. */
#define STOP_FULL 1

typedef struct {
    uint32_t *ids;
    size_t max_len;
    size_t count;
    int truncated;
    const snn_vocab *vocab;
    snn_error *err;
} wordpiece_state;

static int push_id(wordpiece_state *st, uint32_t id)
{
    if (st->count == st->max_len) {
        st->truncated = 1;
        return STOP_FULL;
    }
    st->ids[st->count++] = id;
    return 0;
}

static int push_unk(wordpiece_state *st)
{
    long unk = snn_vocab_unk(st->vocab);
    if (unk < 0)
        return snn_fail(st->err, SNN_EINVAL, "a word is not in the vocabulary, which has no "
                        "[UNK] token: add a line \"[UNK]\" to the vocabulary");
    return push_id(st, (uint32_t)unk);
}

/* Byte offsets of the code points of word, plus its length at the end;
 * returns the number of code points, or -1 beyond SNN_WORDPIECE_MAX_CHARS. */
static long char_offsets(const char *word, size_t *offsets)
{
    long n = 0;
    size_t i = 0;
    for (; word[i]; i++) {
        if (((unsigned char)word[i] & 0xC0) == 0x80)
            continue; /* a UTF-8 continuation byte */
        if (n == SNN_WORDPIECE_MAX_CHARS)
            return -1;
        offsets[n++] = i;
    }
    offsets[n] = i;
    return n;
}

/* Finds the longest piece starting at code point start; returns its end or -1. */
static long longest_piece(const wordpiece_state *st, const char *word, const size_t *offsets,
                          long start, long n, long *id)
{
    char piece[2 + 4 * SNN_WORDPIECE_MAX_CHARS + 1];
    size_t prefix = start > 0 ? 2 : 0;
    memcpy(piece, "##", prefix);
    for (long end = n; end > start; end--) {
        size_t len = offsets[end] - offsets[start];
        memcpy(piece + prefix, word + offsets[start], len);
        *id = snn_vocab_find_bytes(st->vocab, piece, prefix + len);
        if (*id >= 0)
            return end;
    }
    return -1;
}

static int emit_word(const char *word, void *ctx)
{
    wordpiece_state *st = ctx;
    size_t offsets[SNN_WORDPIECE_MAX_CHARS + 1];
    long n = char_offsets(word, offsets);
    if (n < 0)
        return push_unk(st);

    /* Pieces are collected first, because an uncovered tail turns the whole
     * word into [UNK]. */
    uint32_t pieces[SNN_WORDPIECE_MAX_CHARS];
    long n_pieces = 0;
    for (long start = 0; start < n;) {
        long id;
        long end = longest_piece(st, word, offsets, start, n, &id);
        if (end < 0)
            return push_unk(st);
        pieces[n_pieces++] = (uint32_t)id;
        start = end;
    }

    for (long i = 0; i < n_pieces; i++) {
        int rc = push_id(st, pieces[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int snn_tokenize(uint32_t *ids, size_t max_len, size_t *count, int *truncated,
                 const snn_vocab *v, const char *text, snn_error *err)
{
    wordpiece_state st = {ids, max_len, 0, 0, v, err};
    int rc = snn_basic_tokenize(text, emit_word, &st, err);
    *count = st.count;
    *truncated = st.truncated;
    return rc == STOP_FULL ? SNN_OK : rc;
}
