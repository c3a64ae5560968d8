/* Caption tokenisation (BERT basic tokeniser + WordPiece), vocabularies, and the
 * dataset JSON in the Karpathy split layout. */
#ifndef SNN_TEXT_H
#define SNN_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "snn.h"

typedef struct snn_vocab snn_vocab;

/* Loads a BERT vocab.txt: one token per line, the id is the line number. */
int snn_vocab_load(snn_vocab **out, const char *path, snn_error *err);
/* Learns a WordPiece vocabulary from captions: special tokens [PAD] [UNK] [CLS]
 * [SEP] [MASK] first, then every whole word seen at least min_count times and
 * the characters needed to spell the rest (as "x" and "##x"), at most max_size. */
int snn_vocab_build(snn_vocab **out, const char *const *captions, size_t n, size_t max_size,
                    int min_count, snn_error *err);
int snn_vocab_write(const snn_vocab *v, FILE *fp, snn_error *err);
size_t snn_vocab_size(const snn_vocab *v);
const char *snn_vocab_token(const snn_vocab *v, uint32_t id);
/* Returns the id of token, or -1. */
long snn_vocab_find(const snn_vocab *v, const char *token);
/* Hash of the token list, recorded in streams and models. */
uint64_t snn_vocab_fingerprint(const snn_vocab *v);
void snn_vocab_free(snn_vocab *v);

/* Tokenises one UTF-8 caption into at most max_len ids (no [CLS]/[SEP]).
 * *count receives the number written; *truncated is set to 1 when tokens were
 * dropped. Invalid UTF-8 is an error. */
int snn_tokenize(uint32_t *ids, size_t max_len, size_t *count, int *truncated,
                 const snn_vocab *v, const char *text, snn_error *err);

/* Basic tokenisation alone: lower-case, strip accents, split punctuation, CJK
 * characters as single tokens, drop control characters. Calls emit for each word
 * (NUL-terminated, valid until the callback returns). */
int snn_basic_tokenize(const char *text, int (*emit)(const char *word, void *ctx), void *ctx,
                       snn_error *err);

typedef struct {
    char *raw;
    long sentid;
} snn_sentence;

typedef struct {
    char *filename;
    char *filepath;  /* may be "" */
    char *split;     /* "train", "val", "test", "restval" */
    char *key;       /* match key: the "group" field if present, else imgid */
    char *path;      /* resolved: dataset dir / filepath / filename */
    long imgid;
    snn_sentence *sentences;
    size_t n_sentences;
} snn_dataset_image;

typedef struct {
    snn_dataset_image *images;
    size_t n_images;
} snn_dataset;

/* Loads a dataset JSON ({"images":[{"filename", "filepath", "split", "imgid",
 * "sentences":[{"raw", "sentid"}]}]}). Image paths are resolved relative to
 * image_root, or to the JSON's directory when image_root is NULL. Errors name
 * the file and the image index. */
int snn_dataset_load(snn_dataset **out, const char *path, const char *image_root,
                     snn_error *err);
void snn_dataset_free(snn_dataset *d);

#endif
