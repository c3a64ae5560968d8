/* Code shared by snn-encode-img and snn-encode-txt: the stream header of a
 * model's spike output, and the conversion of an encoded batch into records. */
#ifndef SNN_CLI_ENCODE_H
#define SNN_CLI_ENCODE_H

#include "model.h"
#include "stream.h"

/* Header of a spike stream of kind SNN_STREAM_IMAGE or SNN_STREAM_TEXT, or of
 * their *_FEATURES forms. */
void encode_stream_info(snn_stream_info *info, const snn_model *m, uint32_t kind);

/* Writes one record per item of out (ids[b], keys[b]), with the float features
 * when features is set; exits 1 on a write error naming output_name. */
void encode_write_batch(snn_stream_writer *w, const snn_enc_out *out, const snn_model *m,
                        const char *const *ids, const char *const *keys, int features,
                        const char *output_name);

/* Returns the stream kind for --features, or the plain spike kind. */
uint32_t encode_kind(uint32_t modality, int features);

#define ENCODE_FEATURES_HELP \
    "  --features            also write each token's float features, which snn-fuse\n" \
    "                        needs; snn-rank reads either stream\n"

/* Loads the model named by -m or exits 1 with the reason. */
snn_model *encode_load_model(const char *path);

#endif
