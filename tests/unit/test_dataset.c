/* Dataset JSON loading: fields, match keys, image paths, and error messages that
 * name the file, the image and sentence index, and the field. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "text.h"

static char dir[64];

/* Writes content to DIR/name and returns the path (static buffer). */
static const char *write_json(const char *name, const char *content)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp || fputs(content, fp) == EOF || fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
    return path;
}

static const char good_json[] =
    "{\"dataset\": \"emoji\", \"images\": ["
    " {\"filename\": \"a.png\", \"filepath\": \"noto\", \"split\": \"train\", \"imgid\": 0,"
    "  \"group\": \"1f600\", \"sentences\": [{\"raw\": \"A grinning face.\", \"sentid\": 0,"
    "  \"tokens\": [\"a\"]}, {\"raw\": \"happy\", \"sentid\": 1}]},"
    " {\"filename\": \"b.png\", \"split\": \"test\", \"imgid\": 42, \"sentences\": []},"
    " {\"filename\": \"/abs/c.png\", \"filepath\": \"x\", \"split\": \"val\", \"imgid\": -3,"
    "  \"sentences\": [{\"raw\": \"\", \"sentid\": 7}]}]}";

static void test_dataset_fields(void)
{
    const char *path = write_json("good.json", good_json);
    snn_dataset *d = NULL;
    snn_error err = {0};
    int rc = snn_dataset_load(&d, path, NULL, &err);
    if (rc != SNN_OK)
        fprintf(stderr, "snn_dataset_load: %s\n", err.msg);
    CHECK_INT(rc, SNN_OK);
    if (!d)
        return;

    char want[160];
    CHECK_STR(d->name, "emoji");
    CHECK_INT(d->n_images, 3);
    const snn_dataset_image *a = &d->images[0], *b = &d->images[1], *c = &d->images[2];
    CHECK_STR(a->filename, "a.png");
    CHECK_STR(a->split, "train");
    CHECK_STR(a->key, "1f600");
    snprintf(want, sizeof want, "%s/noto/a.png", dir);
    CHECK_STR(a->path, want);
    CHECK_INT(a->n_sentences, 2);
    CHECK_STR(a->sentences[0].raw, "A grinning face.");
    CHECK_INT(a->sentences[1].sentid, 1);

    CHECK_STR(b->filepath, "");
    CHECK_STR(b->key, "42");
    CHECK_INT(b->imgid, 42);
    snprintf(want, sizeof want, "%s/b.png", dir);
    CHECK_STR(b->path, want);
    CHECK_INT(b->n_sentences, 0);

    CHECK_STR(c->key, "-3");
    CHECK_STR(c->path, "/abs/c.png");
    CHECK_STR(c->sentences[0].raw, "");
    snn_dataset_free(d);

    CHECK_INT(snn_dataset_load(&d, path, "images", &err), SNN_OK);
    CHECK_STR(d->images[0].path, "images/noto/a.png");
    snn_dataset_free(d);
    CHECK_INT(snn_dataset_load(&d, path, "", &err), SNN_OK);
    CHECK_STR(d->images[1].path, "b.png");
    snn_dataset_free(d);
    unlink(path);
}

/* Loads content and expects code with the message "DIR/bad.json: " + want. */
static void check_error(const char *content, int code, const char *want, int line)
{
    const char *path = write_json("bad.json", content);
    char full[600];
    snprintf(full, sizeof full, "%s: %s", path, want);
    snn_dataset *d = (snn_dataset *)&d;
    snn_error err = {0};
    int rc = snn_dataset_load(&d, path, NULL, &err);
    if (rc != code || strcmp(err.msg, full) != 0) {
        fprintf(stderr, "line %d: got %d \"%s\", expected %d \"%s\"\n", line, rc, err.msg, code,
                full);
        check_failures++;
    }
    CHECK(d == NULL);
    unlink(path);
}

#define CHECK_ERROR(content, want) check_error(content, SNN_EFORMAT, want, __LINE__)

static void test_dataset_errors(void)
{
    CHECK_ERROR("{\"images\": [{\"filename\": \"a\", \"split\": \"train\", \"imgid\": 1, "
                "\"sentences\": [{\"raw\": \"x\", \"sentid\": 1}, {\"sentid\": 2}]}]}",
                "images[0].sentences[1]: missing \"raw\"");
    CHECK_ERROR("{\"images\": [{\"filename\": \"a\", \"split\": \"train\", \"imgid\": 1, "
                "\"sentences\": [{\"raw\": \"x\", \"sentid\": \"1\"}]}]}",
                "images[0].sentences[0]: \"sentid\" must be an integer, got a string");
    CHECK_ERROR("{\"images\": [{\"filename\": \"a\", \"split\": \"train\", \"imgid\": 1, "
                "\"sentences\": [\"x\"]}]}",
                "images[0].sentences[0]: expected an object, got a string");
    CHECK_ERROR("{\"images\": [{\"filename\": \"a\", \"split\": \"train\", \"imgid\": 1, "
                "\"sentences\": []}, {\"filename\": \"b\", \"split\": \"val\", "
                "\"imgid\": 2.5, \"sentences\": []}]}",
                "images[1]: \"imgid\" must be an integer, got a number with a fraction");
    CHECK_ERROR("{\"images\": [{\"split\": \"train\", \"imgid\": 1, \"sentences\": []}]}",
                "images[0]: missing \"filename\"");
    CHECK_ERROR("{\"images\": [{\"filename\": \"a\", \"imgid\": 1, \"sentences\": []}]}",
                "images[0]: missing \"split\"");
    CHECK_ERROR("{\"images\": [{\"filename\": \"a\", \"split\": \"train\", \"imgid\": 1}]}",
                "images[0]: missing \"sentences\" array");
    CHECK_ERROR("{\"images\": [{\"filename\": \"a\", \"split\": \"train\", \"imgid\": 1, "
                "\"group\": \"\", \"sentences\": []}]}",
                "images[0]: \"group\" is empty: omit it or give a name");
    CHECK_ERROR("{\"images\": [{\"filename\": \"a\", \"split\": \"train\", \"imgid\": 1, "
                "\"group\": 5, \"sentences\": []}]}",
                "images[0]: \"group\" must be a string, got an integer");
    CHECK_ERROR("{\"images\": [null]}", "images[0]: expected an object, got null");
    CHECK_ERROR("{\"images\": {}}", "top level: \"images\" must be an array, got an object");
    CHECK_ERROR("{\"dataset\": \"x\"}", "top level: missing \"images\" array");
    CHECK_ERROR("[1, 2]", "expected a JSON object with an \"images\" array, got an array");
    CHECK_ERROR("{\"images\": [}",
                "line 1, column 13: invalid JSON: unexpected token near '}'");

    snn_dataset *d = NULL;
    snn_error err = {0};
    CHECK_INT(snn_dataset_load(&d, "/nonexistent/data.json", NULL, &err), SNN_EIO);
    CHECK(strstr(err.msg, "cannot open /nonexistent/data.json") != NULL);
}

int main(void)
{
    strcpy(dir, "/tmp/test_dataset.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_dataset_fields();
    test_dataset_errors();
    rmdir(dir);
    CHECK_DONE();
}
