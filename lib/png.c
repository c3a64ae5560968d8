/* PNG decoding into 8-bit RGB with libpng.
 *
 * libpng expands palettes, tRNS and grey below 8 bits, so every row arrives as 1 to 4
 * samples (grey, grey+alpha, RGB, RGBA) of 8 or 16 bits. Compositing on white and the
 * 16-to-8 reduction are done here, in integers, so the results are exact and fixed
 * (see image.h for the formulas). Interlaced images are read pass by pass into their
 * final places, so memory stays one output image plus one row. */
#include "image.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* State reached from libpng's callbacks. It lives in the caller of the function that
 * calls setjmp, so its fields keep their values after libpng's longjmp. */
typedef struct {
    FILE *fp;
    const char *path;
    int read_errno;    /* errno of a failed fread, 0 otherwise */
    char message[256]; /* message of the libpng error that ended the decoding */
    png_bytep row;     /* one decoded row, freed by decode_file */
} png_reader;

static void on_png_error(png_structp png, png_const_charp message)
{
    png_reader *reader = png_get_error_ptr(png);
    snprintf(reader->message, sizeof reader->message, "%s", message);
    png_longjmp(png, 1);
}

/* libpng warns, for example, about a bad CRC in an ancillary chunk, which it then
 * skips. The library never prints, so warnings are dropped. */
static void on_png_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

static void on_png_read(png_structp png, png_bytep data, size_t length)
{
    png_reader *reader = png_get_io_ptr(png);
    if (fread(data, 1, length, reader->fp) == length)
        return;
    if (ferror(reader->fp)) {
        reader->read_errno = errno ? errno : EIO;
        png_error(png, "read failed");
    }
    png_error(png, "unexpected end of file");
}

static int check_signature(png_reader *reader, snn_error *err)
{
    png_byte signature[8];
    size_t got = fread(signature, 1, sizeof signature, reader->fp);
    if (got < sizeof signature && ferror(reader->fp))
        return snn_fail(err, SNN_EIO, "%s: read failed: %s", reader->path, strerror(errno));
    if (got < sizeof signature || png_sig_cmp(signature, 0, sizeof signature) != 0)
        return snn_fail(err, SNN_EFORMAT, "%s: not a PNG file (bad signature)", reader->path);
    return SNN_OK;
}

/* Composites a colour sample c with alpha a on white, both on the scale 0..max, and
 * rounds to nearest (max is odd, so no result is exactly halfway). */
static uint32_t composite_on_white(uint32_t c, uint32_t a, uint32_t max)
{
    uint64_t sum = (uint64_t)a * c + (uint64_t)(max - a) * max + max / 2;
    return (uint32_t)(sum / max);
}

static uint8_t reduce_to_8bit(uint32_t value, int depth)
{
    if (depth == 8)
        return (uint8_t)value;
    return (uint8_t)((value * 255u + 32767u) / 65535u);
}

/* Converts count pixels of row, each of channels samples at depth bits (8 or 16,
 * big-endian as in the file), to RGB at out, out + 3*step, out + 6*step, ... */
static void convert_row(uint8_t *out, size_t step, png_const_bytep row, uint32_t count,
                        int channels, int depth)
{
    uint32_t max = depth == 16 ? 65535u : 255u;
    int bytes = depth / 8;
    int has_alpha = channels == 2 || channels == 4;
    int colours = has_alpha ? channels - 1 : channels;

    for (uint32_t x = 0; x < count; x++) {
        uint32_t sample[4];
        for (int s = 0; s < channels; s++, row += bytes)
            sample[s] = depth == 16 ? (uint32_t)row[0] << 8 | row[1] : row[0];

        for (int k = 0; k < 3; k++) {
            /* Grey (1 colour sample) feeds all three channels. */
            uint32_t c = sample[colours == 1 ? 0 : k];
            if (has_alpha)
                c = composite_on_white(c, sample[channels - 1], max);
            out[k] = reduce_to_8bit(c, depth);
        }
        out += 3 * step;
    }
}

/* Reads the rows of one Adam7 pass (or the whole image when not interlaced) and
 * places each pixel at its position in img. */
static void read_pass(png_structp png, png_reader *reader, snn_image *img, int pass,
                      int interlaced, int channels, int depth)
{
    uint32_t width = (uint32_t)img->width, height = (uint32_t)img->height;
    uint32_t cols = width, rows = height, x0 = 0, y0 = 0, xstep = 1, ystep = 1;
    if (interlaced) {
        cols = PNG_PASS_COLS(width, pass);
        rows = PNG_PASS_ROWS(height, pass);
        x0 = PNG_PASS_START_COL(pass);
        y0 = PNG_PASS_START_ROW(pass);
        xstep = 1u << PNG_PASS_COL_SHIFT(pass);
        ystep = 1u << PNG_PASS_ROW_SHIFT(pass);
    }

    /* libpng skips the empty passes of small images, so reading a row here would
     * take one from the next pass. */
    if (cols == 0 || rows == 0)
        return;

    for (uint32_t i = 0; i < rows; i++) {
        png_read_row(png, reader->row, NULL);
        size_t y = y0 + (size_t)i * ystep;
        uint8_t *out = img->rgb + (y * width + x0) * 3;
        convert_row(out, xstep, reader->row, cols, channels, depth);
    }
}

/* Reads the header, checks the size and decodes every row into img. A libpng error
 * longjmps from here back to decode_file. */
static int decode_rows(png_structp png, png_infop info, png_reader *reader, snn_image *img,
                       size_t max_pixels, snn_error *err)
{
    png_read_info(png, info);
    uint32_t width = png_get_image_width(png, info);
    uint32_t height = png_get_image_height(png, info);
    int status = snn_image_alloc(img, width, height, max_pixels, reader->path, err);
    if (status != SNN_OK)
        return status;

    /* Palette to RGB, grey of 1, 2 or 4 bits to 8 bits, tRNS to an alpha channel.
     * Interlace handling stays off, so png_read_row returns each pass's rows. */
    png_set_expand(png);
    int interlaced = png_get_interlace_type(png, info) == PNG_INTERLACE_ADAM7;
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int depth = png_get_bit_depth(png, info);
    if (channels < 1 || channels > 4 || (depth != 8 && depth != 16))
        return snn_fail(err, SNN_EFORMAT, "%s: unsupported PNG layout after expansion: "
                        "%d channels of %d bits", reader->path, channels, depth);

    reader->row = malloc(png_get_rowbytes(png, info));
    if (!reader->row)
        return snn_fail(err, SNN_ENOMEM, "%s: cannot allocate a PNG row of %zu bytes",
                        reader->path, (size_t)png_get_rowbytes(png, info));

    int passes = interlaced ? PNG_INTERLACE_ADAM7_PASSES : 1;
    for (int pass = 0; pass < passes; pass++)
        read_pass(png, reader, img, pass, interlaced, channels, depth);

    /* Reading up to IEND makes a file cut after its image data an error too. */
    png_read_end(png, NULL);
    return SNN_OK;
}

static int decode_file(png_reader *reader, snn_image *img, size_t max_pixels,
                       snn_error *err)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, reader, on_png_error,
                                             on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return snn_fail(err, SNN_ENOMEM, "%s: cannot allocate the PNG decoder", reader->path);
    }
    png_set_read_fn(png, reader, on_png_read);
    png_set_sig_bytes(png, 8);
    /* libpng's default limit of 1e6 pixels per side would preempt the clearer
     * max_pixels check in snn_image_alloc, so allow any side PNG allows. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);

    int status;
    if (setjmp(png_jmpbuf(png))) {
        if (reader->read_errno)
            status = snn_fail(err, SNN_EIO, "%s: read failed: %s", reader->path,
                              strerror(reader->read_errno));
        else
            status = snn_fail(err, SNN_EFORMAT, "%s: truncated or corrupt PNG: %s",
                              reader->path, reader->message);
    } else {
        status = decode_rows(png, info, reader, img, max_pixels, err);
    }

    free(reader->row);
    reader->row = NULL;
    if (status != SNN_OK)
        snn_image_free(img);
    png_destroy_read_struct(&png, &info, NULL);
    return status;
}

int snn_png_read(snn_image *img, const char *path, size_t max_pixels, snn_error *err)
{
    img->width = img->height = 0;
    img->rgb = NULL;

    png_reader reader = {.path = path};
    reader.fp = fopen(path, "rb");
    if (!reader.fp)
        return snn_fail(err, SNN_EIO, "%s: cannot open: %s", path, strerror(errno));

    int status = check_signature(&reader, err);
    if (status == SNN_OK)
        status = decode_file(&reader, img, max_pixels, err);
    fclose(reader.fp);
    return status;
}
