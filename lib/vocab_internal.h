/* Construction shared by the vocabulary loader and builder. Internal to libsnn. */
#ifndef SNN_VOCAB_INTERNAL_H
#define SNN_VOCAB_INTERNAL_H

#include "text.h"

/* Makes a vocabulary of tokens[0..n), taking ownership of the array and its
 * strings (freed here on failure too). */
int snn_vocab_adopt(snn_vocab **out, char **tokens, size_t n, snn_error *err);

/* Returns the id of the len bytes at token, or -1. */
long snn_vocab_find_bytes(const snn_vocab *v, const char *token, size_t len);
/* Returns the id of "[UNK]", or -1 when the vocabulary has none. */
long snn_vocab_unk(const snn_vocab *v);

#endif
