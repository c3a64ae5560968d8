/* Basic tokeniser, WordPiece and vocabularies, against hand-computed cases that
 * follow BERT's uncased tokeniser (google-research/bert tokenization.py). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "text.h"

/* Joins the emitted words with single spaces. */
typedef struct {
    char text[4096];
    int words;
    int stop_after; /* emit returns 7 after this many words; 0 never stops */
} joined;

static int join_word(const char *word, void *ctx)
{
    joined *j = ctx;
    if (j->words > 0)
        strcat(j->text, " ");
    strcat(j->text, word);
    j->words++;
    return j->stop_after && j->words == j->stop_after ? 7 : 0;
}

static const char *basic(const char *text)
{
    static joined j;
    memset(&j, 0, sizeof j);
    snn_error err = {0};
    int rc = snn_basic_tokenize(text, join_word, &j, &err);
    if (rc != SNN_OK) {
        fprintf(stderr, "snn_basic_tokenize(\"%s\"): %s\n", text, err.msg);
        return "(error)";
    }
    return j.text;
}

static void test_basic_lowercase_and_accents(void)
{
    CHECK_STR(basic("H\xc3\xa9llo"), "hello");                  /* Héllo */
    CHECK_STR(basic("na\xc3\xafve caf\xc3\xa9"), "naive cafe"); /* naïve café */
    CHECK_STR(basic("e\xcc\x81t\xc3\xa9"), "ete");              /* e + U+0301, then é */
    CHECK_STR(basic("\xc3\x89\x43OLE"), "ecole");               /* ÉCOLE */
    CHECK_STR(basic("\xc3\x85ngstr\xc3\xb6m"), "angstrom");     /* Ångström */
    CHECK_STR(basic("stra\xc3\x9f" "e"), "stra\xc3\x9f" "e");   /* ß has no lower case change */
    CHECK_STR(basic("\xc4\xb0z"), "iz");                        /* İ: i + U+0307, mark dropped */
    /* Hangul syllables decompose into conjoining jamo (category Lo, kept). */
    CHECK_STR(basic("\xed\x95\x9c"), "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab");
}

static void test_basic_final_sigma(void)
{
    /* ΟΔΟΣ -> οδος with final sigma U+03C2; a lone Σ and ΣΑ take U+03C3. */
    CHECK_STR(basic("\xce\x9f\xce\x94\xce\x9f\xce\xa3"), "\xce\xbf\xce\xb4\xce\xbf\xcf\x82");
    CHECK_STR(basic("\xce\xa3\xce\x91"), "\xcf\x83\xce\xb1");
    CHECK_STR(basic("\xce\xa3"), "\xcf\x83");
}

static void test_basic_punctuation(void)
{
    CHECK_STR(basic("Hello, World!"), "hello , world !");
    CHECK_STR(basic("a dog's ball."), "a dog ' s ball .");
    CHECK_STR(basic("1+1=2 $5 a|b ~x ^y `z <p>"), "1 + 1 = 2 $ 5 a | b ~ x ^ y ` z < p >");
    CHECK_STR(basic("...!"), ". . . !");
    /* «», the em dash and the ideographic full stop are category P*. */
    CHECK_STR(basic("\xc2\xabhi\xc2\xbb a\xe2\x80\x94" "b c\xe3\x80\x82"),
              "\xc2\xab hi \xc2\xbb a \xe2\x80\x94 b c \xe3\x80\x82");
    /* © (So) and € (Sc) are symbols outside ASCII, so they stay inside words. */
    CHECK_STR(basic("a\xc2\xa9" "b \xe2\x82\xac" "5"), "a\xc2\xa9" "b \xe2\x82\xac" "5");
}

static void test_basic_cjk(void)
{
    /* 我爱ab猫: each ideograph is a word. ひらがな (kana) is not in the CJK blocks,
     * and its voiced mark U+3099 (Mn) is stripped after NFD as in BERT: ひらかな. */
    CHECK_STR(basic("\xe6\x88\x91\xe7\x88\xb1" "ab\xe7\x8c\xab"),
              "\xe6\x88\x91 \xe7\x88\xb1 ab \xe7\x8c\xab");
    CHECK_STR(basic("\xe3\x81\xb2\xe3\x82\x89\xe3\x81\x8c\xe3\x81\xaa"),
              "\xe3\x81\xb2\xe3\x82\x89\xe3\x81\x8b\xe3\x81\xaa");
    /* U+20000 (extension B, 4 bytes) and U+F900 (compatibility ideograph). */
    CHECK_STR(basic("x\xf0\xa0\x80\x80y\xef\xa4\x80z"),
              "x \xf0\xa0\x80\x80 y \xe8\xb1\x88 z");
}

static void test_basic_control_and_whitespace(void)
{
    CHECK_STR(basic("a\x01" "b\x7f" "c"), "abc");        /* Cc dropped, no split */
    CHECK_STR(basic("a\tb\nc\r d  "), "a b c d");          /* \t \n \r are whitespace */
    CHECK_STR(basic("soft\xc2\xadhyphen"), "softhyphen");  /* U+00AD, Cf */
    CHECK_STR(basic("x\xe2\x80\x8dy"), "xy");               /* U+200D ZWJ, Cf */
    CHECK_STR(basic("p\xee\x80\x80q"), "pq");               /* U+E000, Co */
    CHECK_STR(basic("a\xef\xbf\xbd" "b"), "ab");            /* U+FFFD */
    CHECK_STR(basic("a\xc2\x85" "b"), "ab");                /* U+0085 NEL, Cc */
    CHECK_STR(basic("a\xcd\xb8" "b"), "ab");                /* U+0378, unassigned */
    CHECK_STR(basic("a\xc2\xa0" "b\xe3\x80\x80" "c"), "a b c"); /* NBSP, U+3000: Zs */
    CHECK_STR(basic("a\xe2\x80\xa8" "b"), "a b");           /* U+2028, Zl */
    CHECK_STR(basic(""), "");
    CHECK_STR(basic(" \t\x01 "), "");
    CHECK_STR(basic("\xcc\x81"), ""); /* a lone combining accent */
}

static void test_basic_errors_and_stop(void)
{
    const char *bad[] = {"ab\xff", "\xc0\xaf", "\xed\xa0\x80", "ok \xe6\x88"};
    const char *where[] = {"byte 2", "byte 0", "byte 0", "byte 3"};
    for (size_t i = 0; i < 4; i++) {
        joined j = {0};
        snn_error err = {0};
        CHECK_INT(snn_basic_tokenize(bad[i], join_word, &j, &err), SNN_EFORMAT);
        CHECK_INT(j.words, 0); /* the text is validated before any word goes out */
        CHECK(strstr(err.msg, "invalid UTF-8") != NULL);
        CHECK(strstr(err.msg, where[i]) != NULL);
    }

    joined j = {.stop_after = 2};
    CHECK_INT(snn_basic_tokenize("one two three", join_word, &j, NULL), 7);
    CHECK_STR(j.text, "one two");

    char *big = malloc(SNN_TEXT_MAX_BYTES + 2);
    memset(big, 'a', SNN_TEXT_MAX_BYTES + 1);
    big[SNN_TEXT_MAX_BYTES + 1] = '\0';
    snn_error err = {0};
    CHECK_INT(snn_basic_tokenize(big, join_word, &j, &err), SNN_ENOMEM);
    free(big);
}

/* Writes lines to a temporary file and returns its name (static buffer). */
static const char *temp_file(const char *content, size_t len)
{
    static char path[64];
    strcpy(path, "/tmp/test_tokenizer.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, content, len) != (ssize_t)len) {
        perror("temp file");
        exit(1);
    }
    close(fd);
    return path;
}

static snn_vocab *load_text(const char *content)
{
    const char *path = temp_file(content, strlen(content));
    snn_vocab *v = NULL;
    snn_error err = {0};
    if (snn_vocab_load(&v, path, &err) != SNN_OK)
        fprintf(stderr, "snn_vocab_load: %s\n", err.msg);
    unlink(path);
    return v;
}

static const char small_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
                                  "un\n##aff\n##able\nunaff\n##ab\n##le\ndog\n##s\n,\n"
                                  "runn\n##ing\na\n##a\n";
enum { UNK = 1, UN = 5, AFF = 6, ABLE = 7, UNAFF = 8, AB = 9, LE = 10, DOG = 11, S = 12,
       COMMA = 13, RUNN = 14, ING = 15, A = 16, A_CONT = 17 };

/* Tokenises text and compares the ids with want[0..n). */
static void check_ids(const snn_vocab *v, const char *text, size_t max_len, const uint32_t *want,
                      size_t n, int want_truncated, int line)
{
    uint32_t ids[256];
    size_t count = 99;
    int truncated = 99;
    snn_error err = {0};
    int rc = snn_tokenize(ids, max_len, &count, &truncated, v, text, &err);
    if (rc != SNN_OK)
        fprintf(stderr, "line %d: snn_tokenize: %s\n", line, err.msg);
    CHECK_INT(rc, SNN_OK);
    CHECK_INT(count, n);
    CHECK_INT(truncated, want_truncated);
    for (size_t i = 0; i < n && i < count; i++)
        if (ids[i] != want[i]) {
            fprintf(stderr, "line %d: ids[%zu] = %u, expected %u\n", line, i, ids[i], want[i]);
            check_failures++;
        }
}

#define CHECK_IDS(v, text, max_len, truncated, ...) do { \
    const uint32_t want_[] = {__VA_ARGS__}; \
    check_ids(v, text, max_len, want_, sizeof want_ / sizeof want_[0], truncated, __LINE__); \
    } while (0)

static void test_wordpiece(void)
{
    snn_vocab *v = load_text(small_vocab);
    if (!v) {
        check_failures++;
        return;
    }
    /* "unaff" is longer than "un", and "##able" longer than "##ab". */
    CHECK_IDS(v, "Unaffable", 32, 0, UNAFF, ABLE);
    CHECK_IDS(v, "dogs, running", 32, 0, DOG, S, COMMA, RUNN, ING);
    /* A tail that no piece covers makes the whole word one [UNK]. */
    CHECK_IDS(v, "unaffablex dog", 32, 0, UNK, DOG);
    CHECK_IDS(v, "cat", 32, 0, UNK);
    /* Truncation is reported only when an id was actually dropped. */
    CHECK_IDS(v, "dogs dogs dogs", 4, 1, DOG, S, DOG, S);
    CHECK_IDS(v, "dogs dogs dogs", 6, 0, DOG, S, DOG, S, DOG, S);
    CHECK_IDS(v, "dogs dogs dogs", 5, 1, DOG, S, DOG, S, DOG);

    /* 100 code points are split into pieces; 101 become one [UNK]. */
    char word[102];
    memset(word, 'a', 101);
    word[100] = '\0';
    uint32_t ids[256];
    size_t count;
    int truncated;
    CHECK_INT(snn_tokenize(ids, 256, &count, &truncated, v, word, NULL), SNN_OK);
    CHECK_INT(count, 100);
    CHECK_INT(ids[0], A);
    CHECK_INT(ids[99], A_CONT);
    word[100] = 'a';
    word[101] = '\0';
    CHECK_IDS(v, word, 256, 0, UNK);
    snn_vocab_free(v);
    (void)UN; (void)AFF; (void)AB; (void)LE;
}

static void test_wordpiece_without_unk(void)
{
    snn_vocab *v = load_text("dog\n##s\n");
    snn_error err = {0};
    uint32_t ids[8];
    size_t count;
    int truncated;
    CHECK_INT(snn_tokenize(ids, 8, &count, &truncated, v, "dogs", &err), SNN_OK);
    CHECK_INT(count, 2);
    CHECK_INT(snn_tokenize(ids, 8, &count, &truncated, v, "cat", &err), SNN_EINVAL);
    CHECK(strstr(err.msg, "[UNK]") != NULL);
    snn_vocab_free(v);
}

static void test_vocab_load(void)
{
    /* CRLF line ends, and "b" listed twice: find returns the later id. */
    snn_vocab *v = load_text("[PAD]\r\n[UNK]\r\nhello\r\nb\r\nb\r\n");
    CHECK(v != NULL);
    if (!v)
        return;
    CHECK_INT(snn_vocab_size(v), 5);
    CHECK_STR(snn_vocab_token(v, 2), "hello");
    CHECK(snn_vocab_token(v, 5) == NULL);
    CHECK_INT(snn_vocab_find(v, "hello"), 2);
    CHECK_INT(snn_vocab_find(v, "b"), 4);
    CHECK_INT(snn_vocab_find(v, "hell"), -1);
    snn_vocab_free(v);

    /* FNV-1a 64 of "[PAD]\n[UNK]\nhello\n", computed separately. */
    v = load_text("[PAD]\n[UNK]\nhello");
    CHECK(snn_vocab_fingerprint(v) == 0x78e95dd1f9cb62aaULL);
    snn_vocab_free(v);
}

static void check_load_error(const char *content, size_t len, int want_code, const char *want)
{
    const char *path = temp_file(content, len);
    snn_vocab *v = (snn_vocab *)&v;
    snn_error err = {0};
    CHECK_INT(snn_vocab_load(&v, path, &err), want_code);
    CHECK(v == NULL);
    if (!strstr(err.msg, want)) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.msg, want);
        check_failures++;
    }
    CHECK(strstr(err.msg, path) != NULL);
    unlink(path);
}

static void test_vocab_load_errors(void)
{
    check_load_error("a\nb\n\xff\n", 6, SNN_EFORMAT, ": line 3: invalid UTF-8");
    check_load_error("a\nb\0c\n", 6, SNN_EFORMAT, ": line 2: contains a NUL byte");
    check_load_error("", 0, SNN_EFORMAT, "empty vocabulary");
    char long_line[SNN_VOCAB_MAX_TOKEN_BYTES + 3];
    memset(long_line, 'x', sizeof long_line);
    check_load_error(long_line, sizeof long_line, SNN_ENOMEM, ": line 1: line longer than");

    snn_vocab *v = NULL;
    snn_error err = {0};
    CHECK_INT(snn_vocab_load(&v, "/nonexistent/vocab.txt", &err), SNN_EIO);
    CHECK(strstr(err.msg, "cannot open /nonexistent/vocab.txt") != NULL);
}

/* Token list of v joined with spaces. */
static const char *vocab_text(const snn_vocab *v)
{
    static char text[4096];
    text[0] = '\0';
    for (uint32_t i = 0; i < snn_vocab_size(v); i++) {
        if (i)
            strcat(text, " ");
        strcat(text, snn_vocab_token(v, i));
    }
    return text;
}

static void test_vocab_build(void)
{
    /* Words: the 3, dog 3, . 2, runs 1, a 1, ! 1, cat 1. Characters: t 4; d e g h o 3;
     * . a 2; ! c n r s u 1. */
    const char *captions[] = {"The dog runs.", "A dog! The cat.", "the DOG"};
    const char *reordered[] = {"the DOG", "The dog runs.", "A dog! The cat."};
    const char *specials = "[PAD] [UNK] [CLS] [SEP] [MASK] ";
    char want[1024];
    snn_vocab *v = NULL, *w = NULL;
    snn_error err = {0};

    CHECK_INT(snn_vocab_build(&v, captions, 3, 8000, 1, &err), SNN_OK);
    snprintf(want, sizeof want, "%st ##t d ##d e ##e g ##g h ##h o ##o . ##. a ##a ! ##! "
             "c ##c n ##n r ##r s ##s u ##u dog the cat runs", specials);
    CHECK_STR(vocab_text(v), want);

    CHECK_INT(snn_vocab_build(&w, reordered, 3, 8000, 1, &err), SNN_OK);
    CHECK_STR(vocab_text(w), want);
    CHECK(snn_vocab_fingerprint(v) == snn_vocab_fingerprint(w));
    snn_vocab_free(w);

    /* The built vocabulary spells unseen words from its characters:
     * the=34 dog=33 ##s=30 r=27 ##a=20 ##n=26. */
    CHECK_IDS(v, "The dogs ran", 32, 0, 34, 33, 30, 27, 20, 26);
    snn_vocab_free(v);

    CHECK_INT(snn_vocab_build(&v, captions, 3, 20, 1, &err), SNN_OK);
    snprintf(want, sizeof want, "%st ##t d ##d e ##e g ##g h ##h o ##o . ##. dog", specials);
    CHECK_STR(vocab_text(v), want);
    snn_vocab_free(v);

    CHECK_INT(snn_vocab_build(&v, captions, 3, 8000, 2, &err), SNN_OK);
    CHECK_INT(snn_vocab_size(v), 35);
    CHECK_STR(snn_vocab_token(v, 34), "the");
    snn_vocab_free(v);

    CHECK_INT(snn_vocab_build(&v, captions, 3, 4, 1, &err), SNN_EINVAL);
    CHECK_INT(snn_vocab_build(&v, captions, 3, 100, 0, &err), SNN_EINVAL);
}

static void test_vocab_write(void)
{
    const char *captions[] = {"a b"};
    snn_vocab *v = NULL;
    CHECK_INT(snn_vocab_build(&v, captions, 1, 100, 1, NULL), SNN_OK);
    char buf[256] = {0};
    FILE *fp = fmemopen(buf, sizeof buf - 1, "w");
    CHECK_INT(snn_vocab_write(v, fp, NULL), SNN_OK);
    fclose(fp);
    CHECK_STR(buf, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##a\nb\n##b\n");
    snn_vocab_free(v);
}

int main(void)
{
    test_basic_lowercase_and_accents();
    test_basic_final_sigma();
    test_basic_punctuation();
    test_basic_cjk();
    test_basic_control_and_whitespace();
    test_basic_errors_and_stop();
    test_wordpiece();
    test_wordpiece_without_unk();
    test_vocab_load();
    test_vocab_load_errors();
    test_vocab_build();
    test_vocab_write();
    CHECK_DONE();
}
