/* Tests of PNG decoding and resizing.
 *
 * The PNGs are written here with libpng's writer into a temporary directory: every
 * colour type and bit depth, with and without tRNS, interlaced and not. Expected
 * pixels are worked out by hand from the formulas in image.h. Error cases cover a
 * missing file, a non-PNG, every truncation of a valid file, a header with huge
 * dimensions (crafted byte by byte) and 200 random byte flips. */
#include "image.h"
#include "check.h"

#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- Temporary files ---- */

static char temp_dir[512];
static char created[64][64];
static int created_count;

/* Returns temp_dir/name in a static buffer and remembers name for cleanup. */
static const char *temp_path(const char *name)
{
    static char path[1024];
    int known = 0;
    for (int i = 0; i < created_count; i++)
        known |= strcmp(created[i], name) == 0;
    if (!known && created_count < 64)
        snprintf(created[created_count++], sizeof created[0], "%s", name);
    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    return path;
}

static void remove_temp_files(void)
{
    for (int i = 0; i < created_count; i++)
        unlink(temp_path(created[i]));
    rmdir(temp_dir);
}

static void write_bytes(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (!fp)
        return;
    CHECK_INT(fwrite(data, 1, size, fp), size);
    CHECK_INT(fclose(fp), 0);
}

static uint8_t *read_bytes(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    uint8_t *data = malloc(1 << 20);
    *size = fread(data, 1, 1 << 20, fp);
    fclose(fp);
    return data;
}

/* ---- Writing PNGs with libpng ---- */

typedef struct {
    int width, height, color_type, bit_depth, interlace;
    const uint16_t *samples;           /* height*width*channels, row-major */
    const png_color *palette;          /* PLTE of a palette image */
    int palette_size;
    const png_byte *palette_alpha;     /* tRNS of a palette image, or NULL */
    int palette_alpha_count;
    const png_color_16 *trans_colour;  /* tRNS of a grey or RGB image, or NULL */
} png_spec;

static int channels_of(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1; /* grey, palette */
    }
}

/* Fills one row in the layout png_write_row takes after png_set_packing: one byte
 * per sample below 8 bits, big-endian pairs at 16 bits. */
static void fill_row(png_bytep row, const png_spec *spec, int y)
{
    int n = spec->width * channels_of(spec->color_type);
    const uint16_t *s = spec->samples + (size_t)y * n;
    for (int i = 0; i < n; i++) {
        if (spec->bit_depth == 16) {
            row[2 * i] = (png_byte)(s[i] >> 8);
            row[2 * i + 1] = (png_byte)(s[i] & 255);
        } else {
            row[i] = (png_byte)s[i];
        }
    }
}

static void write_png(const char *path, const png_spec *spec)
{
    FILE *fp = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep row = malloc((size_t)spec->width * 8);
    if (!fp || !png || !info || !row || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "%s: cannot write the test PNG\n", path);
        exit(1);
    }

    png_init_io(png, fp);
    png_set_IHDR(png, info, spec->width, spec->height, spec->bit_depth, spec->color_type,
                 spec->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (spec->palette)
        png_set_PLTE(png, info, spec->palette, spec->palette_size);
    if (spec->palette_alpha)
        png_set_tRNS(png, info, spec->palette_alpha, spec->palette_alpha_count, NULL);
    if (spec->trans_colour)
        png_set_tRNS(png, info, NULL, 0, spec->trans_colour);
    png_write_info(png, info);

    if (spec->bit_depth < 8)
        png_set_packing(png);
    /* With interlace handling on, every pass takes the full rows. */
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++) {
        for (int y = 0; y < spec->height; y++) {
            fill_row(row, spec, y);
            png_write_row(png, row);
        }
    }
    png_write_end(png, NULL);

    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(fp);
}

/* ---- Decoding checks ---- */

/* Writes spec as name, decodes it and compares every pixel with want (RGB). */
static void check_decode(const char *name, const png_spec *spec, const uint8_t *want)
{
    const char *path = temp_path(name);
    write_png(path, spec);

    snn_image img;
    snn_error err = {0};
    int status = snn_png_read(&img, path, SNN_IMAGE_MAX_PIXELS, &err);
    if (status != SNN_OK) {
        fprintf(stderr, "%s: decode failed: %s\n", name, err.msg);
        check_failures++;
        return;
    }
    CHECK_INT(img.width, spec->width);
    CHECK_INT(img.height, spec->height);

    size_t n = (size_t)spec->width * spec->height;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *got = img.rgb + 3 * i, *exp = want + 3 * i;
        if (memcmp(got, exp, 3) != 0) {
            fprintf(stderr, "%s: pixel (%zu,%zu) = %d,%d,%d, expected %d,%d,%d\n", name,
                    i % spec->width, i / spec->width, got[0], got[1], got[2], exp[0],
                    exp[1], exp[2]);
            check_failures++;
            break;
        }
    }
    snn_image_free(&img);
}

/* Expands grey levels into RGB triples. */
static void grey_to_rgb(uint8_t *rgb, const uint8_t *grey, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
}

/* Decodes a one-row image of grey samples and compares with grey levels want. */
static void check_grey_row(const char *name, int depth, const uint16_t *samples,
                           const uint8_t *want, int width, const png_color_16 *trans)
{
    png_spec spec = {.width = width, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY,
                     .bit_depth = depth, .samples = samples, .trans_colour = trans};
    uint8_t rgb[64 * 3];
    grey_to_rgb(rgb, want, (size_t)width);
    check_decode(name, &spec, rgb);
}

static void test_grey(void)
{
    check_grey_row("grey1.png", 1, (const uint16_t[]){1, 0, 1, 1, 0, 0, 0, 1, 0, 1},
                   (const uint8_t[]){255, 0, 255, 255, 0, 0, 0, 255, 0, 255}, 10, NULL);
    check_grey_row("grey2.png", 2, (const uint16_t[]){0, 1, 2, 3, 2},
                   (const uint8_t[]){0, 85, 170, 255, 170}, 5, NULL);
    check_grey_row("grey4.png", 4, (const uint16_t[]){0, 1, 5, 14, 15},
                   (const uint8_t[]){0, 17, 85, 238, 255}, 5, NULL);
    check_grey_row("grey8.png", 8, (const uint16_t[]){0, 37, 128, 255},
                   (const uint8_t[]){0, 37, 128, 255}, 4, NULL);

    /* (v*255 + 32767)/65535: 128 -> 0.498 -> 0, 129 -> 0.502 -> 1, 386 -> 2.002 -> 2,
     * where truncating to v >> 8 would give 0, 0, 1. */
    check_grey_row("grey16.png", 16, (const uint16_t[]){0, 128, 129, 386, 9509, 65535},
                   (const uint8_t[]){0, 0, 1, 2, 37, 255}, 6, NULL);

    /* tRNS makes one grey value fully transparent, hence white. */
    png_color_16 trans4 = {.gray = 5};
    check_grey_row("grey4-trns.png", 4, (const uint16_t[]){5, 6, 0},
                   (const uint8_t[]){255, 102, 0}, 3, &trans4);
    png_color_16 trans16 = {.gray = 1000};
    check_grey_row("grey16-trns.png", 16, (const uint16_t[]){1000, 1001, 0},
                   (const uint8_t[]){255, 4, 0}, 3, &trans16);
}

static void test_grey_alpha(void)
{
    /* 8-bit (a*c + (255-a)*255 + 127)/255: (0,128) -> 32512/255 = 127.5 -> 127;
     * (10,100) -> 40652/255 = 159.4 -> 159. */
    png_spec spec8 = {.width = 4, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA,
                      .bit_depth = 8,
                      .samples = (const uint16_t[]){0, 128, 200, 255, 100, 0, 10, 100}};
    uint8_t want8[12];
    grey_to_rgb(want8, (const uint8_t[]){127, 200, 255, 159}, 4);
    check_decode("grey-alpha8.png", &spec8, want8);

    /* 16-bit (0, 32768): (32767*65535 + 32767)/65535 = 32767, reduced to 127. */
    png_spec spec16 = {.width = 4, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA,
                       .bit_depth = 16,
                       .samples = (const uint16_t[]){0, 32768, 65535, 0, 0, 0, 1000, 65535}};
    uint8_t want16[12];
    grey_to_rgb(want16, (const uint8_t[]){127, 255, 255, 4}, 4);
    check_decode("grey-alpha16.png", &spec16, want16);
}

static void test_rgb(void)
{
    png_spec spec8 = {.width = 4, .height = 1, .color_type = PNG_COLOR_TYPE_RGB,
                      .bit_depth = 8,
                      .samples = (const uint16_t[]){255, 0, 0, 0, 255, 0, 0, 0, 255,
                                                    12, 34, 56}};
    check_decode("rgb8.png", &spec8,
                 (const uint8_t[]){255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 34, 56});

    png_color_16 trans8 = {.red = 10, .green = 20, .blue = 30};
    png_spec trns8 = {.width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_RGB,
                      .bit_depth = 8, .trans_colour = &trans8,
                      .samples = (const uint16_t[]){10, 20, 30, 10, 20, 31}};
    check_decode("rgb8-trns.png", &trns8, (const uint8_t[]){255, 255, 255, 10, 20, 31});

    /* 32896 = 128*257 reduces to exactly 128; 1000, 2000, 3000 reduce to 4, 8, 12. */
    png_spec spec16 = {.width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_RGB,
                       .bit_depth = 16,
                       .samples = (const uint16_t[]){65535, 0, 32896, 129, 386, 9509}};
    check_decode("rgb16.png", &spec16, (const uint8_t[]){255, 0, 128, 1, 2, 37});

    png_color_16 trans16 = {.red = 1000, .green = 2000, .blue = 3000};
    png_spec trns16 = {.width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_RGB,
                       .bit_depth = 16, .trans_colour = &trans16,
                       .samples = (const uint16_t[]){1000, 2000, 3000, 1000, 2000, 3001}};
    check_decode("rgb16-trns.png", &trns16, (const uint8_t[]){255, 255, 255, 4, 8, 12});
}

static void test_rgba(void)
{
    /* Half-transparent red: R (128*255 + 127*255 + 127)/255 = 255, G and B
     * (127*255 + 127)/255 = 127. (10,200,100) at alpha 100: 159, 233, 194. */
    png_spec spec8 = {.width = 4, .height = 1, .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                      .bit_depth = 8,
                      .samples = (const uint16_t[]){255, 0, 0, 128, 0, 0, 0, 0,
                                                    12, 34, 56, 255, 10, 200, 100, 100}};
    check_decode("rgba8.png", &spec8,
                 (const uint8_t[]){255, 127, 127, 255, 255, 255, 12, 34, 56, 159, 233, 194});

    /* A 16-bit pixel of alpha 0 is white whatever its colour. */
    png_spec spec16 = {.width = 4, .height = 1, .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                       .bit_depth = 16,
                       .samples = (const uint16_t[]){0, 0, 0, 0, 65535, 0, 0, 32768,
                                                     1000, 2000, 3000, 65535,
                                                     65535, 65535, 65535, 0}};
    check_decode("rgba16.png", &spec16,
                 (const uint8_t[]){255, 255, 255, 255, 127, 127, 4, 8, 12, 255, 255, 255});
}

/* ---- Palettes ---- */

/* With tRNS, entry 0 (red) has alpha 128 and entry 1 (blue) alpha 0. tRNS is
 * shorter than the palette, so later entries stay opaque. */
static const png_color palette16[16] = {
    {255, 0, 0}, {0, 0, 255}, {0, 255, 0}, {10, 20, 30}, {40, 50, 60}, {70, 80, 90},
    {100, 110, 120}, {130, 140, 150}, {160, 170, 180}, {190, 200, 210}, {220, 230, 240},
    {1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {11, 12, 13}, {14, 15, 16},
};
static const png_byte palette_alpha[2] = {128, 0};

/* Stores the colour that palette entry index decodes to on white, worked out by
 * hand. */
static void palette_expected(uint8_t rgb[3], int index, int with_trns)
{
    const png_color *c = &palette16[index];
    rgb[0] = c->red, rgb[1] = c->green, rgb[2] = c->blue;
    if (with_trns && index == 0) /* red at alpha 128 */
        rgb[0] = 255, rgb[1] = 127, rgb[2] = 127;
    if (with_trns && index == 1) /* alpha 0 */
        rgb[0] = rgb[1] = rgb[2] = 255;
}

/* A width x height palette image of the given depth with index(x, y) =
 * (x*5 + y*3 + 1) mod the palette size. */
static void check_palette(const char *name, int depth, int with_trns, int interlace,
                          int width, int height)
{
    int entries = depth >= 4 ? 16 : 1 << depth;
    uint16_t indices[32 * 32];
    uint8_t want[32 * 32 * 3];
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            int i = y * width + x;
            indices[i] = (uint16_t)((x * 5 + y * 3 + 1) % entries);
            palette_expected(want + 3 * i, indices[i], with_trns);
        }
    }
    png_spec spec = {.width = width, .height = height, .color_type = PNG_COLOR_TYPE_PALETTE,
                     .bit_depth = depth, .interlace = interlace, .samples = indices,
                     .palette = palette16, .palette_size = entries,
                     .palette_alpha = with_trns ? palette_alpha : NULL,
                     .palette_alpha_count = 2};
    check_decode(name, &spec, want);
}

static void test_palette(void)
{
    const int depths[] = {1, 2, 4, 8};
    for (int d = 0; d < 4; d++) {
        for (int with_trns = 0; with_trns <= 1; with_trns++) {
            char name[64];
            snprintf(name, sizeof name, "palette%d%s.png", depths[d], with_trns ? "-trns" : "");
            check_palette(name, depths[d], with_trns, PNG_INTERLACE_NONE, 11, 3);
        }
    }
}

/* ---- Interlacing ---- */

/* Sizes that leave some Adam7 passes empty (1x1, 2x3) or partial (13x11, 17x9). */
static const int interlace_sizes[4][2] = {{1, 1}, {2, 3}, {13, 11}, {17, 9}};

static void check_interlaced_rgb8(int width, int height)
{
    uint16_t samples[32 * 32 * 3];
    uint8_t want[32 * 32 * 3];
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            int i = 3 * (y * width + x);
            samples[i] = want[i] = (uint8_t)(x * 19 + y);
            samples[i + 1] = want[i + 1] = (uint8_t)(y * 23 + x * 2);
            samples[i + 2] = want[i + 2] = (uint8_t)(x * y * 7);
        }
    }
    png_spec spec = {.width = width, .height = height, .color_type = PNG_COLOR_TYPE_RGB,
                     .bit_depth = 8, .interlace = PNG_INTERLACE_ADAM7, .samples = samples};
    char name[64];
    snprintf(name, sizeof name, "adam7-rgb8-%dx%d.png", width, height);
    check_decode(name, &spec, want);
}

/* 16-bit RGBA with alpha 0 or 65535: white, or colour (10x, 10y, x+y) times 257. */
static void check_interlaced_rgba16(int width, int height)
{
    uint16_t samples[32 * 32 * 4];
    uint8_t want[32 * 32 * 3];
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            int i = y * width + x, opaque = (x + y) % 3 != 0;
            uint8_t colour[3] = {(uint8_t)(10 * x), (uint8_t)(10 * y), (uint8_t)(x + y)};
            for (int c = 0; c < 3; c++) {
                samples[4 * i + c] = (uint16_t)(colour[c] * 257);
                want[3 * i + c] = opaque ? colour[c] : 255;
            }
            samples[4 * i + 3] = opaque ? 65535 : 0;
        }
    }
    png_spec spec = {.width = width, .height = height,
                     .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 16,
                     .interlace = PNG_INTERLACE_ADAM7, .samples = samples};
    char name[64];
    snprintf(name, sizeof name, "adam7-rgba16-%dx%d.png", width, height);
    check_decode(name, &spec, want);
}

static void check_interlaced_grey1(int width, int height)
{
    uint16_t samples[32 * 32];
    uint8_t grey[32 * 32], want[32 * 32 * 3];
    for (int i = 0; i < width * height; i++) {
        samples[i] = (i % width * 3 + i / width * 5) % 7 < 3;
        grey[i] = samples[i] ? 255 : 0;
    }
    grey_to_rgb(want, grey, (size_t)(width * height));
    png_spec spec = {.width = width, .height = height, .color_type = PNG_COLOR_TYPE_GRAY,
                     .bit_depth = 1, .interlace = PNG_INTERLACE_ADAM7, .samples = samples};
    char name[64];
    snprintf(name, sizeof name, "adam7-grey1-%dx%d.png", width, height);
    check_decode(name, &spec, want);
}

static void test_interlaced(void)
{
    for (int s = 0; s < 4; s++) {
        int width = interlace_sizes[s][0], height = interlace_sizes[s][1];
        char name[64];
        check_interlaced_rgb8(width, height);
        check_interlaced_rgba16(width, height);
        check_interlaced_grey1(width, height);
        snprintf(name, sizeof name, "adam7-palette4-trns-%dx%d.png", width, height);
        check_palette(name, 4, 1, PNG_INTERLACE_ADAM7, width, height);
    }
}

/* ---- Errors ---- */

/* Decodes path expecting status code; message must equal want_message, or start
 * with want_prefix when want_message is NULL. The image must be left empty. */
static void check_decode_error(const char *path, size_t max_pixels, int code,
                               const char *want_message, const char *want_prefix)
{
    /* Non-empty on entry, so the checks below show that the decoder clears it. */
    static uint8_t sentinel;
    snn_image img = {.width = 7, .rgb = &sentinel};
    snn_error err = {0};
    int status = snn_png_read(&img, path, max_pixels, &err);
    CHECK_INT(status, code);
    CHECK_INT(err.code, code);
    CHECK(img.rgb == NULL);
    CHECK_INT(img.width, 0);
    if (want_message)
        CHECK_STR(err.msg, want_message);
    else if (strncmp(err.msg, want_prefix, strlen(want_prefix)) != 0) {
        fprintf(stderr, "%s: message \"%s\" does not start with \"%s\"\n", path, err.msg,
                want_prefix);
        check_failures++;
    }
    snn_image_free(&img);
}

/* A 16x16 RGB image of pseudo-random pixels, which deflate cannot shrink much, so
 * the file has a long IDAT to cut. */
static void write_noise_png(const char *path)
{
    uint16_t samples[16 * 16 * 3];
    uint32_t state = 12345;
    for (int i = 0; i < 16 * 16 * 3; i++) {
        state = state * 1103515245u + 12345u;
        samples[i] = (uint16_t)(state >> 24);
    }
    png_spec spec = {.width = 16, .height = 16, .color_type = PNG_COLOR_TYPE_RGB,
                     .bit_depth = 8, .samples = samples};
    write_png(path, &spec);
}

static void test_open_errors(void)
{
    char want[1200];
    const char *missing = temp_path("missing.png");
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    check_decode_error(missing, SNN_IMAGE_MAX_PIXELS, SNN_EIO, want, NULL);

    /* fopen accepts a directory on Linux, and the first fread fails with EISDIR. */
    snprintf(want, sizeof want, "%s: read failed: Is a directory", temp_dir);
    check_decode_error(temp_dir, SNN_IMAGE_MAX_PIXELS, SNN_EIO, want, NULL);

    const char *text = temp_path("text.png");
    write_bytes(text, (const uint8_t *)"hello, not an image\n", 20);
    snprintf(want, sizeof want, "%s: not a PNG file (bad signature)", text);
    check_decode_error(text, SNN_IMAGE_MAX_PIXELS, SNN_EFORMAT, want, NULL);

    const char *empty = temp_path("empty.png");
    write_bytes(empty, (const uint8_t *)"", 0);
    snprintf(want, sizeof want, "%s: not a PNG file (bad signature)", empty);
    check_decode_error(empty, SNN_IMAGE_MAX_PIXELS, SNN_EFORMAT, want, NULL);
}

/* Every proper prefix of a valid file must be rejected: those shorter than the
 * signature as not a PNG, the others as truncated. */
static void test_truncated(void)
{
    const char *whole = temp_path("noise.png");
    write_noise_png(whole);
    size_t size;
    uint8_t *data = read_bytes(whole, &size);
    CHECK(data != NULL);
    if (!data)
        return;
    CHECK(size > 600);

    const char *cut = temp_path("cut.png");
    char want[1200];
    for (size_t n = 0; n < size; n++) {
        write_bytes(cut, data, n);
        if (n < 8) {
            snprintf(want, sizeof want, "%s: not a PNG file (bad signature)", cut);
            check_decode_error(cut, SNN_IMAGE_MAX_PIXELS, SNN_EFORMAT, want, NULL);
        } else {
            snprintf(want, sizeof want, "%s: truncated or corrupt PNG: ", cut);
            check_decode_error(cut, SNN_IMAGE_MAX_PIXELS, SNN_EFORMAT, NULL, want);
        }
    }

    /* A cut inside IEND, after all pixel data, is still an error. */
    write_bytes(cut, data, size - 1);
    snprintf(want, sizeof want, "%s: truncated or corrupt PNG: unexpected end of file", cut);
    check_decode_error(cut, SNN_IMAGE_MAX_PIXELS, SNN_EFORMAT, want, NULL);
    free(data);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes a chunk (length, type, data, CRC over type and data) at out and returns
 * its size. */
static size_t put_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t length)
{
    put_be32(out, length);
    memcpy(out + 4, type, 4);
    if (length)
        memcpy(out + 8, data, length);
    put_be32(out + 8 + length, (uint32_t)crc32(0, out + 4, length + 4));
    return 12 + length;
}

/* Writes a PNG whose IHDR claims width x height RGB pixels, followed by one IDAT of
 * a single empty row and IEND. Reading the rows would fail with "not enough image
 * data", so a size error proves the check came first. */
static void write_claimed_size_png(const char *path, uint32_t width, uint32_t height)
{
    static const uint8_t signature[8] = {137, 'P', 'N', 'G', '\r', '\n', 26, '\n'};
    uint8_t file[256], ihdr[13] = {0};
    put_be32(ihdr, width);
    put_be32(ihdr + 4, height);
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 2; /* RGB */

    uint8_t raw[4] = {0}, idat[64];
    uLongf idat_size = sizeof idat;
    CHECK_INT(compress(idat, &idat_size, raw, sizeof raw), Z_OK);

    size_t n = 0;
    memcpy(file, signature, 8);
    n += 8;
    n += put_chunk(file + n, "IHDR", ihdr, 13);
    n += put_chunk(file + n, "IDAT", idat, (uint32_t)idat_size);
    n += put_chunk(file + n, "IEND", NULL, 0);
    write_bytes(path, file, n);
}

static void test_size_limit(void)
{
    char want[1200];
    const char *path = temp_path("huge.png");
    write_claimed_size_png(path, 100000, 100000);
    snprintf(want, sizeof want, "%s: 100000x100000 pixels exceeds the limit of %zu pixels",
             path, SNN_IMAGE_MAX_PIXELS);
    check_decode_error(path, SNN_IMAGE_MAX_PIXELS, SNN_ENOMEM, want, NULL);

    /* The largest sides PNG allows, above libpng's default limit of 1e6 per side. */
    write_claimed_size_png(path, 2147483647u, 2147483647u);
    snprintf(want, sizeof want,
             "%s: 2147483647x2147483647 pixels exceeds the limit of %zu pixels", path,
             SNN_IMAGE_MAX_PIXELS);
    check_decode_error(path, SNN_IMAGE_MAX_PIXELS, SNN_ENOMEM, want, NULL);

    /* A side above PNG's 2^31 - 1 is a format error from libpng. */
    write_claimed_size_png(path, 2147483648u, 1);
    snprintf(want, sizeof want, "%s: truncated or corrupt PNG: ", path);
    check_decode_error(path, SNN_IMAGE_MAX_PIXELS, SNN_EFORMAT, NULL, want);

    /* The limit itself is allowed: 4x4 decodes with max_pixels 16, not with 15. */
    const char *small = temp_path("small.png");
    png_spec spec = {.width = 4, .height = 4, .color_type = PNG_COLOR_TYPE_GRAY,
                     .bit_depth = 8, .samples = (const uint16_t[16]){0}};
    write_png(small, &spec);
    snn_image img;
    CHECK_INT(snn_png_read(&img, small, 16, NULL), SNN_OK);
    snn_image_free(&img);
    snprintf(want, sizeof want, "%s: 4x4 pixels exceeds the limit of 15 pixels", small);
    check_decode_error(small, 15, SNN_ENOMEM, want, NULL);
}

static void test_image_alloc(void)
{
    snn_image img;
    snn_error err = {0};
    CHECK_INT(snn_image_alloc(&img, 3, 2, 6, "a.png", &err), SNN_OK);
    CHECK_INT(img.width, 3);
    CHECK_INT(img.height, 2);
    CHECK(img.rgb != NULL);
    snn_image_free(&img);
    CHECK(img.rgb == NULL);
    snn_image_free(NULL);

    CHECK_INT(snn_image_alloc(&img, 0, 5, 100, "a.png", &err), SNN_EFORMAT);
    CHECK_STR(err.msg, "a.png: invalid image size 0x5");
    CHECK(img.rgb == NULL);
    CHECK_INT(snn_image_alloc(&img, 2147483648u, 1, SIZE_MAX, "a.png", &err), SNN_EFORMAT);
    CHECK_STR(err.msg, "a.png: image size 2147483648x1 has a side above 2147483647");
    CHECK_INT(snn_image_alloc(&img, 3, 3, 8, "a.png", &err), SNN_ENOMEM);
    CHECK_STR(err.msg, "a.png: 3x3 pixels exceeds the limit of 8 pixels");
}

static void test_bad_crc(void)
{
    const char *path = temp_path("bad-crc.png");
    write_noise_png(path);
    size_t size;
    uint8_t *data = read_bytes(path, &size);
    CHECK(data != NULL);
    if (!data)
        return;
    data[8 + 8 + 13] ^= 1; /* first byte of IHDR's CRC */
    write_bytes(path, data, size);
    char want[1200];
    snprintf(want, sizeof want, "%s: truncated or corrupt PNG: IHDR: CRC error", path);
    check_decode_error(path, SNN_IMAGE_MAX_PIXELS, SNN_EFORMAT, want, NULL);
    free(data);
}

/* ---- Fuzzing ---- */

static uint32_t xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* Recomputes the CRC of every chunk whose length field still fits in the file, so
 * that a flipped byte reaches the decoder instead of failing the CRC check. */
static void fix_crcs(uint8_t *data, size_t size)
{
    size_t at = 8;
    while (at + 12 <= size) {
        uint32_t length = (uint32_t)data[at] << 24 | (uint32_t)data[at + 1] << 16 |
                          (uint32_t)data[at + 2] << 8 | data[at + 3];
        if (length > size - at - 12)
            break;
        put_be32(data + at + 8 + length, (uint32_t)crc32(0, data + at + 4, length + 4));
        at += 12 + (size_t)length;
    }
}

/* 200 mutants of two valid files (interlaced 16-bit RGBA, palette with tRNS), each
 * with 1 to 4 bytes flipped and, every other time, CRCs fixed. Each must decode or
 * fail with a message, leaving no allocation behind (run under valgrind). */
static void test_fuzz(void)
{
    const char *bases[2] = {temp_path("adam7-rgba16-13x11.png"),
                            temp_path("palette4-trns.png")};
    uint8_t *data[2];
    size_t size[2];
    for (int b = 0; b < 2; b++) {
        data[b] = read_bytes(bases[b], &size[b]);
        CHECK(data[b] != NULL);
        if (!data[b])
            return;
    }

    const char *path = temp_path("fuzz.png");
    uint8_t mutant[1 << 12];
    uint32_t state = 2463534242u;
    int decoded = 0, rejected = 0;
    for (int i = 0; i < 200; i++) {
        int b = i % 2;
        if (size[b] > sizeof mutant) {
            fprintf(stderr, "fuzz: base file of %zu bytes exceeds the buffer\n", size[b]);
            check_failures++;
            break;
        }
        memcpy(mutant, data[b], size[b]);
        int flips = 1 + (int)(xorshift32(&state) % 4);
        for (int f = 0; f < flips; f++) {
            size_t at = xorshift32(&state) % size[b];
            mutant[at] ^= (uint8_t)(1 + xorshift32(&state) % 255);
        }
        if (i % 4 >= 2)
            fix_crcs(mutant, size[b]);
        write_bytes(path, mutant, size[b]);

        snn_image img;
        snn_error err = {0};
        int status = snn_png_read(&img, path, (size_t)1 << 20, &err);
        if (status == SNN_OK) {
            CHECK(img.rgb != NULL);
            CHECK(img.width > 0);
            CHECK(img.height > 0);
            decoded++;
        } else {
            CHECK(status == SNN_EFORMAT || status == SNN_ENOMEM);
            CHECK(img.rgb == NULL);
            CHECK(strncmp(err.msg, path, strlen(path)) == 0);
            rejected++;
        }
        snn_image_free(&img);
    }
    fprintf(stderr, "fuzz: %d mutants decoded, %d rejected\n", decoded, rejected);
    CHECK(decoded > 0);
    CHECK(rejected > 0);
    free(data[0]);
    free(data[1]);
}

/* ---- Resizing ---- */

static const float zero_mean[3] = {0, 0, 0}, unit_std[3] = {1, 1, 1};

/* Resizes a grey image (levels in, width x height) to S x S with mean 0 and std 1,
 * and compares all three channels with the hand-computed levels want (S*S). */
static void check_resize(const char *name, const uint8_t *levels, int width, int height,
                         int S, const double *want)
{
    uint8_t rgb[16 * 16 * 3];
    grey_to_rgb(rgb, levels, (size_t)(width * height));
    snn_image img = {.width = width, .height = height, .rgb = rgb};
    float out[3 * 16 * 16];
    snn_image_to_tensor(out, &img, S, zero_mean, unit_std);
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < S * S; i++) {
            if (fabs(out[c * S * S + i] - want[i] / 255.0) > 1e-6) {
                fprintf(stderr, "%s: channel %d (%d,%d) = %.7f, expected %.7f\n", name, c,
                        i % S, i / S, out[c * S * S + i] * 255.0, want[i]);
                check_failures++;
            }
        }
    }
}

static void test_resize_shrink(void)
{
    /* 2x2 -> 1x1: the mean of all four. */
    check_resize("2x2 to 1x1", (const uint8_t[]){10, 40, 70, 100}, 2, 2, 1,
                 (const double[]){55});

    /* 4x4 -> 2x2: the mean of each 2x2 block of 10*(4y + x). */
    uint8_t ramp[16];
    for (int i = 0; i < 16; i++)
        ramp[i] = (uint8_t)(10 * i);
    check_resize("4x4 to 2x2", ramp, 4, 4, 2, (const double[]){25, 45, 105, 125});

    /* 3x3 -> 2x2: each output covers 1.5 pixels per axis, weights (2/3, 1/3, 0) and
     * (0, 1/3, 2/3), whose mean positions are 1/3 and 5/3. For 30*(3y + x) that gives
     * 30*(3*1/3 + 1/3) = 40, 30*(1 + 5/3) = 80, 30*(5 + 1/3) = 160, 30*(5 + 5/3) = 200.
     * Whole-pixel bins (the mean of pixels 0-1 and 1-2) would give 60 at (0,0). */
    uint8_t ramp3[9];
    for (int i = 0; i < 9; i++)
        ramp3[i] = (uint8_t)(30 * i);
    check_resize("3x3 to 2x2", ramp3, 3, 3, 2, (const double[]){40, 80, 160, 200});

    /* A lone centre pixel of 255 contributes (1/3)*(1/3) to every output. */
    check_resize("3x3 centre to 2x2", (const uint8_t[]){0, 0, 0, 0, 255, 0, 0, 0, 0}, 3, 3,
                 2, (const double[]){255.0 / 9, 255.0 / 9, 255.0 / 9, 255.0 / 9});
}

static void test_resize_enlarge(void)
{
    check_resize("1x1 to 2x2", (const uint8_t[]){77}, 1, 1, 2,
                 (const double[]){77, 77, 77, 77});

    /* 2x2 -> 4x4 with half-pixel centres: outputs sample at -0.25 (clamped to 0),
     * 0.25, 0.75 and 1.25 (clamped to 1), so per axis the weights of (p0, p1) are
     * (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1). Rows of [[0, 80], [160, 240]] become
     * 0 20 60 80 and 160 180 220 240, and the middle rows mix them 3:1 and 1:3. */
    check_resize("2x2 to 4x4", (const uint8_t[]){0, 80, 160, 240}, 2, 2, 4,
                 (const double[]){0, 20, 60, 80,
                                  40, 60, 100, 120,
                                  120, 140, 180, 200,
                                  160, 180, 220, 240});

    /* Same size is a copy. */
    check_resize("3x3 to 3x3", (const uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3, 3,
                 (const double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});

    /* Width shrinks by area averaging (4 -> 2), height enlarges from 1 row (constant). */
    check_resize("4x1 to 2x2", (const uint8_t[]){10, 20, 30, 40}, 4, 1, 2,
                 (const double[]){15, 35, 15, 35});
}

static void test_tensor_layout(void)
{
    /* Channel-major (3,S,S) output, each channel normalised by its own mean and std. */
    uint8_t rgb[12] = {255, 0, 51, 0, 255, 102, 51, 102, 0, 255, 255, 255};
    snn_image img = {.width = 2, .height = 2, .rgb = rgb};
    const float mean[3] = {0.5f, 0.25f, 0.1f}, std[3] = {0.5f, 0.25f, 0.2f};
    float out[12];
    snn_image_to_tensor(out, &img, 2, mean, std);
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < 4; i++) {
            double want = (rgb[3 * i + c] / 255.0 - mean[c]) / std[c];
            CHECK_NEAR(out[c * 4 + i], want, 1e-6, 0);
        }
    }
    CHECK_NEAR(out[0], 1.0, 1e-6, 0);      /* R of (0,0): (1 - 0.5)/0.5 */
    CHECK_NEAR(out[4], -1.0, 1e-6, 0);     /* G of (0,0): (0 - 0.25)/0.25 */
    CHECK_NEAR(out[8], 0.5, 1e-6, 0);      /* B of (0,0): (0.2 - 0.1)/0.2 */
    CHECK_NEAR(out[8 + 3], 4.5, 1e-6, 0);  /* B of (1,1): (1 - 0.1)/0.2 */
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(temp_dir, sizeof temp_dir, "%s/snn-test-image-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }

    test_grey();
    test_grey_alpha();
    test_rgb();
    test_rgba();
    test_palette();
    test_interlaced();
    test_open_errors();
    test_truncated();
    test_size_limit();
    test_image_alloc();
    test_bad_crc();
    test_fuzz();
    test_resize_shrink();
    test_resize_enlarge();
    test_tensor_layout();

    remove_temp_files();
    CHECK_DONE();
}
