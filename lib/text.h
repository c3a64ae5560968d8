/* Caption tokenisation (BERT basic tokeniser + WordPiece), vocabularies, and the
 * dataset JSON in the Karpathy split layout. */
#ifndef SNN_TEXT_H
#define SNN_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "snn.h"

typedef struct snn_vocab snn_vocab;

/* Maximum caption length the tokeniser accepts, in bytes (SNN_ENOMEM beyond). */
#define SNN_TEXT_MAX_BYTES (1u << 20)
/* A basic token longer than this many code points becomes one [UNK], as in BERT. */
#define SNN_WORDPIECE_MAX_CHARS 100
/* Maximum number of vocabulary entries, which bounds the memory a file can take. */
#define SNN_VOCAB_MAX_SIZE (1u << 24)
/* Maximum length of one vocabulary entry, in bytes. */
#define SNN_VOCAB_MAX_TOKEN_BYTES 1024

/* Loads a BERT vocab.txt: one token per line, the id is the line number (from 0).
 * A trailing "\r" is dropped. When a token is listed twice, snn_vocab_find
 * returns the later id, as BERT's loader does. Errors name the file and line. */
int snn_vocab_load(snn_vocab **out, const char *path, snn_error *err);
/* Learns a WordPiece vocabulary from captions: special tokens [PAD] [UNK] [CLS]
 * [SEP] [MASK] first, then every whole word seen at least min_count times and
 * the characters needed to spell the rest (as "x" and "##x"), at most max_size. */
int snn_vocab_build(snn_vocab **out, const char *const *captions, size_t n, size_t max_size,
                    int min_count, snn_error *err);

/* The same learning, fed one caption at a time so memory grows with the number
 * of distinct words, not with the corpus. After the special tokens come single
 * characters by count (then code point), each as "c" and "##c", and then words
 * of two or more code points by count (then byte order). Entries that do not
 * fit max_size are left out. max_size must be at least 5, min_count at least 1. */
typedef struct snn_vocab_builder snn_vocab_builder;
snn_vocab_builder *snn_vocab_builder_new(snn_error *err);
/* Counts the basic tokens of one caption; errors as snn_basic_tokenize. */
int snn_vocab_builder_add(snn_vocab_builder *b, const char *caption, snn_error *err);
/* Builds the vocabulary from the counts so far; b stays usable. */
int snn_vocab_builder_finish(snn_vocab **out, const snn_vocab_builder *b, size_t max_size,
                             int min_count, snn_error *err);
void snn_vocab_builder_free(snn_vocab_builder *b);

/* Writes one token per line. */
int snn_vocab_write(const snn_vocab *v, FILE *fp, snn_error *err);
size_t snn_vocab_size(const snn_vocab *v);
const char *snn_vocab_token(const snn_vocab *v, uint32_t id);
/* Returns the id of token, or -1. */
long snn_vocab_find(const snn_vocab *v, const char *token);
/* Hash of the token list, recorded in streams and models: snn_fnv1a64 over the
 * bytes snn_vocab_write produces. */
uint64_t snn_vocab_fingerprint(const snn_vocab *v);
void snn_vocab_free(snn_vocab *v);

/* Tokenises one UTF-8 caption into at most max_len ids (no [CLS]/[SEP]).
 * *count receives the number written; *truncated is set to 1 when tokens were
 * dropped, else 0. Invalid UTF-8 is an error (SNN_EFORMAT, naming the byte
 * offset), and so is a word needing [UNK] when the vocabulary has none. */
int snn_tokenize(uint32_t *ids, size_t max_len, size_t *count, int *truncated,
                 const snn_vocab *v, const char *text, snn_error *err);

/* Basic tokenisation alone: lower-case, strip accents, split punctuation, CJK
 * characters as single tokens, drop control characters. Calls emit for each word
 * (NUL-terminated, valid until the callback returns). emit returns 0 to go on;
 * any other value stops tokenisation and is returned, so emit can pass an SNN_E*
 * code up or stop early with a positive value. The whole text is checked for
 * valid UTF-8 before the first word is emitted. */
int snn_basic_tokenize(const char *text, int (*emit)(const char *word, void *ctx), void *ctx,
                       snn_error *err);

/* Reads one line, without its "\n" or "\r\n", into *buf (grown with realloc,
 * NUL-terminated); *len receives its length, which is below strlen only when
 * the line contains a NUL byte. Returns SNN_OK, SNN_EOF at the end of input,
 * SNN_EIO on a read error, or SNN_ENOMEM for a line longer than max bytes
 * (the rest of that line is left unread). */
int snn_read_line(FILE *fp, char **buf, size_t *cap, size_t *len, size_t max, snn_error *err);

typedef struct {
    char *raw;
    long sentid;
} snn_sentence;

typedef struct {
    char *filename;
    char *filepath;  /* may be "" */
    char *split;     /* "train", "val", "test", "restval" */
    char *key;       /* match key: the "group" field if present, else imgid */
    char *path;      /* resolved: image root / filepath / filename; an absolute
                        filepath or filename replaces what comes before it */
    long imgid;
    snn_sentence *sentences;
    size_t n_sentences;
} snn_dataset_image;

typedef struct {
    snn_dataset_image *images;
    size_t n_images;
    char *name; /* the "dataset" field, "" when absent */
} snn_dataset;

/* Loads a dataset JSON ({"images":[{"filename", "filepath", "split", "imgid",
 * "sentences":[{"raw", "sentid"}]}]}). Image paths are resolved relative to
 * image_root, or to the JSON's directory when image_root is NULL. Errors name
 * the file and the image index. "filepath" and "group" (a non-empty string) are
 * optional, other fields are required; unknown fields are ignored. */
int snn_dataset_load(snn_dataset **out, const char *path, const char *image_root,
                     snn_error *err);
void snn_dataset_free(snn_dataset *d);

#endif
