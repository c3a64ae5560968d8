#!/usr/bin/env bats
# snn-train: reproducibility, resuming from a checkpoint, the per-epoch log,
# output files after failures, and usage errors. Models are tiny (D 16, 16x16
# images) and trained on the built-in emoji dataset, about half a second an
# epoch on one thread.

bats_require_minimum_version 1.5.0

setup_file() {
    local root
    root="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    cd "$BATS_FILE_TMPDIR"
    "$root/bin/snn-tokenize" -q --build-vocab --dataset "$root/examples/emoji/dataset.json" \
        --split train -o vocab.txt
    "$root/bin/snn-tokenize" -q --build-vocab --dataset "$root/examples/emoji/dataset.json" \
        --split train --vocab-size 300 -o vocab-small.txt
}

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    BIN="$ROOT/bin"
    DATASET="$ROOT/examples/emoji/dataset.json"
    VOCAB="$BATS_FILE_TMPDIR/vocab.txt"
    cd "$BATS_TEST_TMPDIR"
}

# train ARGS...: a tiny model on one thread, seed 7 unless ARGS set another.
train() {
    "$BIN/snn-train" --dataset "$DATASET" --vocab "$VOCAB" --dim 16 --heads 2 \
        --ffn-hidden 32 --image-size 16 --grid 4 --stem-channels 4 --threads 1 \
        --seed 7 --fusion-weight 0 -q "$@"
}

# The header of the log of a tiny model (depth 1, two stem stages, no fusion).
LOG_HEADER="epoch steps lr loss loss_spike loss_float loss_ff loss_uf loss_fu grad_norm rate_mean
rate:img.stem.lif0 rate:img.stem.lif1 rate:img.stem.proj.lif
rate:img.blocks.0.attn.q.lif rate:img.blocks.0.attn.k.lif rate:img.blocks.0.attn.v.lif
rate:img.blocks.0.attn.attn_lif rate:img.blocks.0.attn.proj.lif
rate:img.blocks.0.ffn.lif_a rate:img.blocks.0.ffn.out.lif rate:txt.coder.lif
rate:txt.blocks.0.attn.q.lif rate:txt.blocks.0.attn.k.lif rate:txt.blocks.0.attn.v.lif
rate:txt.blocks.0.attn.attn_lif rate:txt.blocks.0.attn.proj.lif
rate:txt.blocks.0.ffn.lif_a rate:txt.blocks.0.ffn.out.lif
i2t_r1 i2t_r5 i2t_r10 t2i_r1 t2i_r5 t2i_r10 rsum seconds"

# Prints the fields of each log row that are not numbers (NA allowed when
# $2 is "na"), as "row N field F: VALUE".
non_numeric_fields() {
    awk -F '\t' -v na="$2" 'NR > 1 {
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) continue
            if (na == "na" && $i == "NA") continue
            print "row " NR - 1 " field " i ": " $i
        }
    }' "$1"
}

# No temporary file of a model write is left in the directory.
assert_no_temporary_files() {
    local left
    left="$(find . -name '*.tmp.*')"
    echo "left behind: $left"
    [ -z "$left" ]
}

# ---- reproducibility and resuming

@test "train same seed and threads give identical files" {
    train --epochs 1 --val-split none -o a.st
    train --epochs 1 --val-split none -o b.st
    cmp a.st b.st
    cmp a.st.ckpt b.st.ckpt
}

@test "train one and two threads give identical files" {
    # train() passes --threads 1; a later --threads overrides it.
    train --epochs 1 --val-split none -o a.st
    train --epochs 1 --val-split none -o b.st --threads 2
    cmp a.st b.st
}

@test "train another seed gives another model" {
    train --epochs 1 --val-split none -o a.st
    train --epochs 1 --val-split none -o b.st --seed 8
    run cmp -s a.st b.st
    [ "$status" -eq 1 ]
}

@test "train resume equals an uninterrupted run" {
    train --epochs 2 --log full.tsv -o full.st
    train --epochs 1 --log part.tsv -o part.st
    # The resumed run keeps the same output, which holds the best epoch so far.
    run --separate-stderr train --epochs 2 --log part.tsv -o part.st --resume part.st.ckpt
    [ "$status" -eq 0 ]
    [ "$stderr" = "" ]
    cmp full.st part.st
    cmp full.st.ckpt part.st.ckpt
    # The resumed run appends its row without a second header; only the
    # timings may differ.
    [ "$(wc -l < part.tsv)" -eq 3 ]
    [ "$(cut -f 1-36 part.tsv)" = "$(cut -f 1-36 full.tsv)" ]
}

@test "train resume with shifted images" {
    train --epochs 2 --val-split none --shift 2 -o full.st
    train --epochs 1 --val-split none --shift 2 -o part.st
    train --epochs 2 --val-split none --shift 2 -o resumed.st --resume part.st.ckpt
    cmp full.st resumed.st
}

@test "train resume prints where it continues" {
    train --epochs 1 --val-split none -o part.st
    run --separate-stderr "$BIN/snn-train" --dataset "$DATASET" --vocab "$VOCAB" \
        --val-split none --threads 1 --seed 7 --epochs 2 -o resumed.st --resume part.st.ckpt
    [ "$status" -eq 0 ]
    [[ "${stderr_lines[0]}" == "snn-train: resuming from part.st.ckpt after epoch 1 (step "[1-9]*")" ]]
    [ "${stderr_lines[${#stderr_lines[@]} - 1]}" = "snn-train: wrote resumed.st" ]
}

@test "train resume ignores model options" {
    train --epochs 1 --val-split none -o part.st
    train --epochs 2 --val-split none -o full.st
    train --epochs 2 --val-split none -o resumed.st --resume part.st.ckpt --dim 32 --heads 4
    cmp full.st resumed.st
}

@test "train resume at the last epoch writes the model" {
    train --epochs 1 --val-split none -o part.st
    train --epochs 1 --val-split none -o again.st --resume part.st.ckpt
    cmp part.st again.st
}

@test "train resume with another vocabulary" {
    train --epochs 1 --val-split none -o part.st
    run --separate-stderr train --epochs 2 --val-split none -o resumed.st \
        --resume part.st.ckpt --vocab "$BATS_FILE_TMPDIR/vocab-small.txt"
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: $BATS_FILE_TMPDIR/vocab-small.txt: vocabulary differs from the one part.st.ckpt was trained with: pass the same --vocab" ]
    [ ! -e resumed.st ]
    assert_no_temporary_files
}

@test "train resume from a missing checkpoint" {
    run --separate-stderr train --epochs 2 -o resumed.st --resume nosuch.ckpt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: nosuch.ckpt: cannot open: No such file or directory" ]
    [ ! -e resumed.st ]
}

@test "train resume from a file that is not safetensors" {
    printf 'this is not a model\n' > notes.ckpt
    run --separate-stderr train --epochs 2 -o resumed.st --resume notes.ckpt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: notes.ckpt: header length 2338328219631577204 exceeds the limit of 100000000 bytes: the file is damaged or not safetensors" ]
    [ ! -e resumed.st ]
}

# ---- zero epochs

@test "train zero epochs writes a model that loads" {
    run --separate-stderr train --epochs 0 --log log.tsv -o zero.st
    [ "$status" -eq 0 ]
    [ -f zero.st ]
    [ ! -e zero.st.ckpt ]
    [ "$(cat log.tsv)" = "$(echo $LOG_HEADER | tr ' ' '\t')" ]
    cp "$ROOT/examples/emoji/images/google/1f61f.png" .
    run --separate-stderr "$BIN/snn-encode-img" -m zero.st -o img.snn 1f61f.png
    [ "$status" -eq 0 ]
    [ "$stderr" = "" ]
    [ -s img.snn ]
}

@test "train zero epochs is reproducible" {
    train --epochs 0 -o a.st
    train --epochs 0 -o b.st
    cmp a.st b.st
}

# ---- log and output

@test "train log has the header and a numeric row per epoch" {
    train --epochs 3 --log log.tsv -o m.st
    [ "$(head -n 1 log.tsv)" = "$(echo $LOG_HEADER | tr ' ' '\t')" ]
    [ "$(wc -l < log.tsv)" -eq 4 ]
    [ "$(awk -F '\t' '{ print NF }' log.tsv | sort -u)" = 37 ]
    [ "$(cut -f 1 log.tsv | tail -n +2)" = "$(printf '%s\n' 1 2 3)" ]
    run non_numeric_fields log.tsv
    [ "$output" = "" ]
}

@test "train log without fusion has zero fusion terms" {
    train --epochs 1 --val-split none --log log.tsv -o m.st
    [ "$(tail -n 1 log.tsv | cut -f 7-9)" = "$(printf '0.000000\t0.000000\t0.000000')" ]
}

@test "train with fusion logs its terms and layers" {
    train --epochs 1 --val-split none --fusion-weight 1 --log log.tsv -o m.st
    head -n 1 log.tsv | tr '\t' '\n' | grep -qx 'rate:fuse.img.attn.q.lif'
    head -n 1 log.tsv | tr '\t' '\n' | grep -qx 'rate:fuse.txt.ffn.out.lif'
    # Each fusion term of an untrained model is an InfoNCE loss above 0.
    run awk -F '\t' 'NR == 2 && $7 > 0 && $8 > 0 && $9 > 0 { print "ok" }' log.tsv
    [ "$output" = ok ]
}

@test "train fusion model retrieves with unimodal streams" {
    train --epochs 1 --val-split none --fusion-weight 1 -o m.st
    run --separate-stderr "$BIN/snn-encode-img" -m m.st --dataset "$DATASET" --split test -o img.snn
    [ "$status" -eq 0 ]
    [ -s img.snn ]
}

@test "train log without validation has NA metrics" {
    train --epochs 1 --val-split none --log log.tsv -o m.st
    [ "$(wc -l < log.tsv)" -eq 2 ]
    [ "$(tail -n 1 log.tsv | cut -f 30-36)" = "$(printf 'NA\tNA\tNA\tNA\tNA\tNA\tNA')" ]
    run non_numeric_fields log.tsv na
    [ "$output" = "" ]
}

@test "train log decays the learning rate" {
    train --epochs 3 --val-split none --lr 0.001 --lr-step 2 --lr-gamma 0.5 --log log.tsv -o m.st
    [ "$(cut -f 3 log.tsv | tail -n +2)" = "$(printf '%s\n' 0.001 0.001 0.0005)" ]
}

@test "train --log - writes the log to stdout" {
    run --separate-stderr train --epochs 1 --val-split none --log - -o m.st
    [ "$status" -eq 0 ]
    [ "$stderr" = "" ]
    [ "${lines[0]}" = "$(echo $LOG_HEADER | tr ' ' '\t')" ]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == "1	"[1-9]*"	0.0005	"* ]]
}

@test "train prints progress lines on stderr" {
    run --separate-stderr "$BIN/snn-train" --dataset "$DATASET" --vocab "$VOCAB" --dim 16 \
        --heads 2 --ffn-hidden 32 --image-size 16 --grid 4 --stem-channels 4 --threads 1 \
        --epochs 1 --val-split none -o m.st
    [ "$status" -eq 0 ]
    [ "$output" = "" ]
    [[ "${stderr_lines[0]}" == "snn-train: model: "[1-9]*" parameters, D=16, T=2, depth 1" ]]
    [[ "${stderr_lines[2]}" == "snn-train: epoch 1: loss "* ]]
    [ "${stderr_lines[3]}" = "snn-train: wrote m.st" ]
}

@test "train model file is safetensors with its metadata" {
    train --epochs 0 -o m.st
    # An 8-byte little-endian header length, then the JSON header.
    length="$(head -c 8 m.st | od -An -tu8 | tr -d ' ')"
    header="$(tail -c +9 m.st | head -c "$length")"
    [[ "$header" == "{"*"}"* ]]
    [[ "$header" == *'"format":"snn-itr-model"'* ]]
    [[ "$header" == *'"dim":"16"'* ]]
    [[ "$header" == *'"image_size":"16"'* ]]
    [[ "$header" != *optimizer* ]]
}

# ---- failures leave no partial files

@test "train empty vocabulary leaves no files" {
    : > empty.txt
    run --separate-stderr train --epochs 1 --vocab empty.txt -o m.st
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: empty.txt: empty vocabulary: expected one token per line" ]
    [ -z "$(find . -name 'm.st*')" ]
    assert_no_temporary_files
}

@test "train missing vocabulary" {
    run --separate-stderr train --epochs 1 --vocab nosuch.txt -o m.st
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: cannot open nosuch.txt: No such file or directory" ]
    [ -z "$(find . -name 'm.st*')" ]
}

@test "train missing dataset" {
    run --separate-stderr "$BIN/snn-train" -q --dataset nosuch.json --vocab "$VOCAB" -o m.st
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: cannot open nosuch.json: No such file or directory" ]
    [ -z "$(find . -name 'm.st*')" ]
}

@test "train missing image in the dataset" {
    cp "$ROOT/examples/emoji/images/google/1f61f.png" .
    cat > data.json <<'EOF'
{"images": [
 {"filename": "1f61f.png", "split": "train", "imgid": 0, "sentences": [{"raw": "worried face", "sentid": 0}]},
 {"filename": "gone.png", "split": "train", "imgid": 1, "sentences": [{"raw": "brown heart", "sentid": 1}]}]}
EOF
    run --separate-stderr "$BIN/snn-train" -q --dataset data.json --vocab "$VOCAB" \
        --val-split none -o m.st
    [ "$status" -eq 1 ]
    [ "$stderr" = 'snn-train: data.json: split "train": gone.png: cannot open: No such file or directory' ]
    [ -z "$(find . -name 'm.st*')" ]
}

@test "train split that the dataset lacks" {
    run --separate-stderr train --split nosuch -o m.st
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: $DATASET: split \"nosuch\": the dataset has no images in split \"nosuch\"" ]
    [ -z "$(find . -name 'm.st*')" ]
}

@test "train rejects a directory as output before training" {
    mkdir m.st
    run --separate-stderr train --epochs 1 --val-split none -o m.st
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: m.st: not a regular file: give a file path for the model" ]
    [ ! -e m.st.ckpt ]
    assert_no_temporary_files
}

@test "train output in a missing directory" {
    run --separate-stderr train --epochs 1 --val-split none -o nodir/m.st
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-train: nodir/m.st.ckpt: cannot create a temporary file next to it: No such file or directory" ]
}

# ---- usage errors

@test "train rejects an unknown option" {
    run --separate-stderr "$BIN/snn-train" --bogus
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-train: unknown option '--bogus'
Try 'snn-train --help' for more information." ]
    [ "$output" = "" ]
}

@test "train needs dataset, vocabulary and output" {
    run --separate-stderr "$BIN/snn-train" --vocab v -o m.st
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "snn-train: missing --dataset FILE" ]
    run --separate-stderr "$BIN/snn-train" --dataset d -o m.st
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "snn-train: missing --vocab FILE" ]
    run --separate-stderr "$BIN/snn-train" --dataset d --vocab v
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-train: missing -o MODEL
Try 'snn-train --help' for more information." ]
}

@test "train rejects bad numbers" {
    run --separate-stderr "$BIN/snn-train" --dataset d --vocab v -o m.st --batch 1
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "snn-train: --batch must be between 2 and 65536, got 1" ]
    run --separate-stderr "$BIN/snn-train" --dataset d --vocab v -o m.st --lr fast
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "snn-train: invalid number for --lr: 'fast'" ]
    run --separate-stderr "$BIN/snn-train" --dataset d --vocab v -o m.st --epochs
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "snn-train: option '--epochs' needs a value" ]
}

@test "train rejects sizes that do not fit together" {
    run --separate-stderr train --heads 3 -o m.st
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-train: invalid model options: dim 16 must be a positive multiple of heads 3" ]
    run --separate-stderr train --image-size 20 -o m.st
    [ "$status" -eq 2 ]
    [ "$stderr" = "snn-train: invalid model options: image_size 20 must be grid 4 times a power of two (2 to 2^4)" ]
    [ -z "$(find . -name 'm.st*')" ]
}

@test "train rejects an operand" {
    run --separate-stderr "$BIN/snn-train" --dataset d --vocab v -o m.st extra
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "snn-train: unexpected argument 'extra'" ]
}

@test "train prints help and version" {
    run --separate-stderr "$BIN/snn-train" --help
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Usage: snn-train --dataset FILE --vocab FILE -o MODEL [options]" ]
    run --separate-stderr "$BIN/snn-train" --version
    [ "$status" -eq 0 ]
    [[ "$output" == "snn-train snn-itr "[0-9]* ]]
}
