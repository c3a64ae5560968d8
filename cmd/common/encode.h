/* Code shared by snn-encode-img and snn-encode-txt: the stream header of a
 * model's spike output, and the conversion of an encoded batch into records. */
#ifndef SNN_CLI_ENCODE_H
#define SNN_CLI_ENCODE_H

#include "model.h"
#include "stream.h"

/* Header of a spike stream of kind SNN_STREAM_IMAGE or SNN_STREAM_TEXT. */
void encode_stream_info(snn_stream_info *info, const snn_model *m, uint32_t kind);

/* Writes one record per item of out (ids[b], keys[b]); exits 1 on a write error
 * naming output_name. */
void encode_write_batch(snn_stream_writer *w, const snn_enc_out *out, const snn_model *m,
                        const char *const *ids, const char *const *keys,
                        const char *output_name);

/* Loads the model named by -m or exits 1 with the reason. */
snn_model *encode_load_model(const char *path);

#endif
