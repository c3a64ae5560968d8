/* snn-encode-img: encodes images with a trained model's image encoder and writes
 * an image spike stream, one record per image. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "encode.h"
#include "pairs.h"
#include "text.h"

typedef struct {
    char *path, *id, *key;
} item;

typedef struct {
    const char *model, *output, *dataset, *split, *image_root, *list;
    int batch, threads, shard_index, shard_count, features;
    item *items;
    size_t n_items, cap_items;
} options;

static void usage(void)
{
    printf("Usage: snn-encode-img -m MODEL [options] [IMAGE.png...]\n"
           "Encode images into an image spike stream for snn-rank.\n\n"
           "Input (one of):\n"
           "  IMAGE.png...          image files; the key is the file name without extension\n"
           "  --list FILE           one image path per line, optionally PATH<TAB>KEY;\n"
           "                        '-' reads the list from stdin\n"
           "  --dataset FILE        dataset JSON (Karpathy layout), with:\n"
           "  --split NAME          the split to encode [test]\n"
           "  --image-root DIR      directory image paths are relative to [the JSON's]\n"
           "Options:\n"
           "  -m, --model FILE      trained model (safetensors)\n"
           "  -o, --output FILE     output stream ['-': stdout]\n"
           ENCODE_FEATURES_HELP
           "  --batch N             images encoded together [64]\n"
           "  --shard I/N           encode only items I, I+N, I+2N, ... (0 <= I < N);\n"
           "                        concatenating the N outputs gives the whole stream\n"
           "  --threads N           OpenBLAS and OpenMP threads\n"
           "  -q, --quiet           print errors only\n"
           "  -v, --verbose         print more\n"
           "  -h, --help            print this help\n"
           "      --version         print the version\n\n"
           "A file that cannot be decoded is reported and skipped; the exit status is\n"
           "then 1 and the stream holds the other images.\n");
}

static char *dup_or_die(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        cli_error("out of memory");
        exit(CLI_FAILED);
    }
    return d;
}

static void add_item(options *o, const char *path, const char *id, const char *key)
{
    if (o->n_items == o->cap_items) {
        o->cap_items = o->cap_items ? 2 * o->cap_items : 256;
        o->items = realloc(o->items, o->cap_items * sizeof *o->items);
        if (!o->items) {
            cli_error("out of memory");
            exit(CLI_FAILED);
        }
    }
    item *it = &o->items[o->n_items++];
    it->path = dup_or_die(path);
    it->id = dup_or_die(id);
    if (key) {
        it->key = dup_or_die(key);
    } else {
        /* The file name without directory and extension. */
        const char *slash = strrchr(path, '/');
        it->key = dup_or_die(slash ? slash + 1 : path);
        char *dot = strrchr(it->key, '.');
        if (dot && dot != it->key)
            *dot = '\0';
    }
}

static void add_dataset(options *o)
{
    snn_dataset *d;
    snn_error err;
    if (snn_dataset_load(&d, o->dataset, o->image_root, &err))
        cli_die(&err);
    for (size_t i = 0; i < d->n_images; i++) {
        const snn_dataset_image *im = &d->images[i];
        if (strcmp(im->split, o->split) != 0)
            continue;
        char id[4096];
        snprintf(id, sizeof id, "%s%s%s", im->filepath, im->filepath[0] ? "/" : "",
                 im->filename);
        add_item(o, im->path, id, im->key);
    }
    if (o->n_items == 0) {
        cli_error("%s: no images in split \"%s\"", o->dataset, o->split);
        exit(CLI_FAILED);
    }
    snn_dataset_free(d);
}

static void add_list(options *o)
{
    FILE *fp = cli_open_input(o->list);
    char *line = NULL;
    size_t cap = 0, len;
    snn_error err;
    int rc;
    long lineno = 0;
    while ((rc = snn_read_line(fp, &line, &cap, &len, 1 << 16, &err)) == SNN_OK) {
        lineno++;
        if (len == 0)
            continue;
        char *tab = strchr(line, '\t');
        if (tab)
            *tab = '\0';
        if (line[0] == '\0') {
            cli_error("%s: line %ld: empty image path", o->list, lineno);
            exit(CLI_FAILED);
        }
        add_item(o, line, line, tab ? tab + 1 : NULL);
    }
    if (rc != SNN_EOF) {
        snn_fail_prefix(&err, "%s: line %ld", o->list, lineno + 1);
        cli_die(&err);
    }
    free(line);
    if (fp != stdin)
        fclose(fp);
}

static void parse(options *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
        {"features", no_argument, 0, 'F'},
        {"dataset", required_argument, 0, 'D'}, {"split", required_argument, 0, 'S'},
        {"image-root", required_argument, 0, 'R'}, {"list", required_argument, 0, 'L'},
        {"batch", required_argument, 0, 'B'}, {"shard", required_argument, 0, 'H'},
        {"threads", required_argument, 0, 'T'}, {"quiet", no_argument, 0, 'q'},
        {"verbose", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->split = "test";
    o->batch = 64;
    o->shard_count = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'o': o->output = optarg; break;
        case 'F': o->features = 1; break;
        case 'D': o->dataset = optarg; break;
        case 'S': o->split = optarg; break;
        case 'R': o->image_root = optarg; break;
        case 'L': o->list = optarg; break;
        case 'B': o->batch = (int)cli_parse_long("--batch", optarg, 1, 65536); break;
        case 'H': cli_parse_shard(optarg, &o->shard_index, &o->shard_count); break;
        case 'T': o->threads = (int)cli_parse_long("--threads", optarg, 1, 1024); break;
        case 'q': cli_verbosity = 0; break;
        case 'v': cli_verbosity++; break;
        case 'h': usage(); exit(CLI_OK);
        case 'V': printf("snn-encode-img snn-itr %s\n", SNN_VERSION); exit(CLI_OK);
        case ':': cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    int sources = (o->dataset != NULL) + (o->list != NULL) + (optind < argc);
    if (sources != 1)
        cli_usage_error("give exactly one input: image files, --list FILE or --dataset FILE");
    if (!o->model)
        cli_usage_error("missing -m MODEL");
    if (o->dataset)
        add_dataset(o);
    else if (o->list)
        add_list(o);
    for (int i = optind; i < argc; i++)
        add_item(o, argv[i], argv[i], NULL);
}

/* Encodes the items of this shard; returns the number of files that failed. */
static size_t encode_all(options *o, snn_model *m, snn_stream_writer *w, const char *out_name)
{
    const snn_config *c = &m->cfg;
    size_t img_floats = (size_t)3 * c->image_size * c->image_size, failed = 0, done = 0;
    float *pixels = snn_alloc((size_t)o->batch, img_floats * sizeof(float));
    const char **ids = malloc((size_t)o->batch * sizeof *ids);
    const char **keys = malloc((size_t)o->batch * sizeof *keys);
    if (!pixels || !ids || !keys) {
        cli_error("out of memory for a batch of %d images", o->batch);
        exit(CLI_FAILED);
    }
    snn_arena ar = {0};
    cli_progress bar;
    cli_progress_start(&bar, "encoding", (uint64_t)o->n_items);

    size_t i = (size_t)o->shard_index;
    while (i < o->n_items) {
        int B = 0;
        for (; i < o->n_items && B < o->batch; i += (size_t)o->shard_count) {
            snn_error err;
            if (snn_load_image_tensor(pixels + B * img_floats, o->items[i].path, c, &err)) {
                cli_progress_end(&bar);
                cli_error("%s", err.msg);
                failed++;
                continue;
            }
            ids[B] = o->items[i].id;
            keys[B] = o->items[i].key;
            B++;
        }
        if (B == 0)
            continue;
        snn_enc_out out;
        if (snn_image_forward(m, &out, pixels, B, 0, &ar)) {
            cli_error("out of memory encoding a batch of %d images", B);
            exit(CLI_FAILED);
        }
        encode_write_batch(w, &out, m, ids, keys, o->features, out_name);
        snn_arena_reset(&ar);
        done += (size_t)B;
        cli_progress_update(&bar, (uint64_t)i);
    }
    cli_progress_end(&bar);
    snn_arena_free(&ar);
    cli_debug("encoded %zu images", done);
    free(pixels);
    free(ids);
    free(keys);
    return failed;
}

int main(int argc, char **argv)
{
    cli_init(argc, argv);
    options o;
    parse(&o, argc, argv);
    cli_set_threads(o.threads);
    snn_model *m = encode_load_model(o.model);

    cli_output out;
    cli_output_open(&out, o.output, 1);
    const char *out_name = o.output ? o.output : "standard output";
    snn_stream_info info;
    encode_stream_info(&info, m, encode_kind(SNN_STREAM_IMAGE, o.features));
    snn_error err;
    snn_stream_writer *w = snn_stream_writer_open(out.fp, &info, 3, &err);
    if (!w) {
        cli_output_abort(&out);
        cli_die(&err);
    }

    size_t failed = encode_all(&o, m, w, out_name);
    size_t in_shard = (o.n_items - (size_t)o.shard_index + (size_t)o.shard_count - 1) /
                      (size_t)o.shard_count;
    if (failed > 0 && failed == in_shard) {
        /* No image could be encoded: write no stream rather than an empty one. */
        cli_output_abort(&out);
        cli_error("none of the %zu images could be encoded", in_shard);
        return CLI_FAILED;
    }
    if (snn_stream_writer_close(w, &err)) {
        cli_output_abort(&out);
        snn_fail_prefix(&err, "%s", out_name);
        cli_die(&err);
    }
    cli_output_commit(&out);
    if (failed)
        cli_error("%zu of %zu images could not be encoded", failed, in_shard);

    for (size_t i = 0; i < o.n_items; i++) {
        free(o.items[i].path);
        free(o.items[i].id);
        free(o.items[i].key);
    }
    free(o.items);
    snn_model_free(m);
    return cli_finish(failed ? CLI_FAILED : CLI_OK);
}
