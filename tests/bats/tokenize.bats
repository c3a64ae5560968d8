#!/usr/bin/env bats
# snn-tokenize: exit status, output and messages for caption files, dataset JSON
# and vocabulary building. Fixtures are written into a temporary directory.

bats_require_minimum_version 1.5.0

# The stream checks read the zstd frames with the zstd program.
need_zstd() {
    command -v zstd >/dev/null 2>&1 || {
        echo "zstd not found: 'make deps' installs it" >&2
        return 1
    }
}

setup() {
    BIN="$BATS_TEST_DIRNAME/../../bin/snn-tokenize"
    cd "$BATS_TEST_TMPDIR"
    printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\ndog\n##s\nrun\n##ning\n.\n,\ncat\n' > vocab.txt
    printf 'A dog.\nDogs, running\n' > caps.txt
    cat > data.json <<'EOF'
{"dataset": "tiny", "images": [
 {"filename": "a.png", "split": "train", "imgid": 0, "group": "g1",
  "sentences": [{"raw": "A dog.", "sentid": 5}, {"raw": "dogs", "sentid": 6}]},
 {"filename": "b.png", "split": "train", "imgid": 1, "group": "g1",
  "sentences": [{"raw": "A dog.", "sentid": 5}]},
 {"filename": "c.png", "split": "test", "imgid": 7,
  "sentences": [{"raw": "Cat", "sentid": 9}]}
]}
EOF
}

@test "tokenize --text prints ids and WordPiece tokens" {
    run --separate-stderr "$BIN" --vocab vocab.txt --text caps.txt
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'caps.txt:1\ta dog .\ncaps.txt:2\tdog ##s , run ##ning')" ]
    [ "$stderr" = "" ]
}

@test "tokenize stdin ids are line numbers" {
    run --separate-stderr "$BIN" --vocab vocab.txt --text < caps.txt
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\ta dog .\n2\tdog ##s , run ##ning')" ]
}

@test "tokenize unknown word becomes [UNK]" {
    run "$BIN" --vocab vocab.txt --text <<< "a zebra"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\ta [UNK]')" ]
}

@test "tokenize truncation count on stderr" {
    printf 'dogs dogs\ndog\nrunning running\n' > long.txt
    run --separate-stderr "$BIN" --vocab vocab.txt --max-length 2 --text long.txt
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'long.txt:1\tdog ##s\nlong.txt:2\tdog\nlong.txt:3\trun ##ning')" ]
    [ "$stderr" = "snn-tokenize: 2 captions truncated to 2 tokens" ]
}

@test "tokenize -q hides the truncation count" {
    run --separate-stderr "$BIN" -q --vocab vocab.txt --max-length 1 --text caps.txt
    [ "$status" -eq 0 ]
    [ "$stderr" = "" ]
}

@test "tokenize writes a zstd token stream" {
    need_zstd
    run "$BIN" --vocab vocab.txt -o out.snn caps.txt
    [ "$status" -eq 0 ]
    [ "$output" = "" ]
    run zstd -dc out.snn
    [ "$status" -eq 0 ]
    [[ "$output" == SNNSTRM* ]]
    [ "$(zstd -dc out.snn | grep -ao RECD | wc -l)" -eq 2 ]
    [ "$(zstd -dc out.snn | grep -ao 'caps.txt:2' | wc -l)" -eq 2 ] # id and key
}

@test "tokenize stream is identical from stdin and -o" {
    "$BIN" --vocab vocab.txt caps.txt > piped.snn
    "$BIN" --vocab vocab.txt -o named.snn caps.txt
    cmp piped.snn named.snn
}

@test "tokenize missing caption file" {
    run --separate-stderr "$BIN" --vocab vocab.txt -o out.snn caps.txt missing.txt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-tokenize: cannot open missing.txt: No such file or directory" ]
    [ ! -e out.snn ]
    [ -z "$(ls | grep 'out.snn.tmp')" ]
}

@test "tokenize missing vocabulary" {
    run --separate-stderr "$BIN" --vocab nope.txt caps.txt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-tokenize: cannot open nope.txt: No such file or directory" ]
}

@test "tokenize empty caption line names file and line" {
    printf 'a dog\n\ncat\n' > gap.txt
    run --separate-stderr "$BIN" --vocab vocab.txt -o out.snn gap.txt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-tokenize: gap.txt:2: empty caption: write a caption there or remove it" ]
    [ ! -e out.snn ]
}

@test "tokenize caption of control characters is empty" {
    printf 'a dog\n \t\001\n' > blank.txt
    run --separate-stderr "$BIN" --vocab vocab.txt -o out.snn blank.txt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-tokenize: blank.txt:2: empty caption: write a caption there or remove it" ]
}

@test "tokenize invalid UTF-8 names file and line" {
    printf 'a dog\ncat\nab\377c\n' > bad.txt
    run --separate-stderr "$BIN" --vocab vocab.txt -o out.snn bad.txt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-tokenize: bad.txt:3: invalid UTF-8 at byte 2: convert the text to UTF-8" ]
    [ ! -e out.snn ]
}

@test "tokenize NUL byte in a caption file" {
    printf 'a dog\nca\000t\n' > nul.txt
    run --separate-stderr "$BIN" --vocab vocab.txt --text nul.txt
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-tokenize: nul.txt:2: contains a NUL byte: expected UTF-8 text" ]
}

@test "tokenize CRLF line ends" {
    printf 'a dog\r\ncat\r\n' > crlf.txt
    run "$BIN" --vocab vocab.txt --text crlf.txt
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'crlf.txt:1\ta dog\ncrlf.txt:2\tcat')" ]
}

@test "tokenize dataset split, one record per sentid" {
    run --separate-stderr "$BIN" --vocab vocab.txt --dataset data.json --split train --text
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '5\ta dog .\n6\tdog ##s')" ]
}

@test "tokenize dataset default split is test" {
    run "$BIN" --vocab vocab.txt --dataset data.json --text
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '9\tcat')" ]
}

@test "tokenize dataset several splits" {
    run "$BIN" --vocab vocab.txt --dataset data.json --split test,train --text
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '5\ta dog .\n6\tdog ##s\n9\tcat')" ]
}

@test "tokenize dataset stream carries image keys" {
    need_zstd
    "$BIN" --vocab vocab.txt --dataset data.json --split train,test -o out.snn
    [ "$(zstd -dc out.snn | grep -ao g1 | wc -l)" -eq 2 ]
    [ "$(zstd -dc out.snn | grep -ao RECD | wc -l)" -eq 3 ]
}

@test "tokenize dataset unknown split lists the splits" {
    run --separate-stderr "$BIN" --vocab vocab.txt --dataset data.json --split val --text
    [ "$status" -eq 1 ]
    [ "$stderr" = 'snn-tokenize: data.json: no images in split "val": use --split with one of train,test' ]
}

@test "tokenize dataset sentid under two keys" {
    sed 's/"sentid": 9/"sentid": 6/' data.json > clash.json
    run --separate-stderr "$BIN" --vocab vocab.txt --dataset clash.json --split train,test --text
    [ "$status" -eq 1 ]
    [ "$stderr" = 'snn-tokenize: clash.json: images[2].sentences[0]: sentid 6 is also listed under images[0], whose key "g1" differs from "7": give each caption its own sentid' ]
}

@test "tokenize dataset missing field" {
    sed 's/"raw": "dogs", //' data.json > noraw.json
    run --separate-stderr "$BIN" --vocab vocab.txt --dataset noraw.json --split train --text
    [ "$status" -eq 1 ]
    [ "$stderr" = 'snn-tokenize: noraw.json: images[0].sentences[1]: missing "raw"' ]
}

@test "tokenize dataset invalid JSON" {
    printf '{"images": [\n{"filename": "a.png",\n' > broken.json
    run --separate-stderr "$BIN" --vocab vocab.txt --dataset broken.json --text
    [ "$status" -eq 1 ]
    [[ "$stderr" == "snn-tokenize: broken.json: line 3, column 0: invalid JSON: "* ]]
}

@test "tokenize dataset empty caption" {
    sed 's/"raw": "Cat"/"raw": ""/' data.json > empty.json
    run --separate-stderr "$BIN" --vocab vocab.txt --dataset empty.json --text
    [ "$status" -eq 1 ]
    [ "$stderr" = "snn-tokenize: empty.json: images[2].sentences[0]: empty caption: write a caption there or remove it" ]
}

@test "tokenize build-vocab from caption lines" {
    run --separate-stderr "$BIN" --build-vocab caps.txt
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]' \
        g '##g' n '##n' d '##d' o '##o' , '##,' . '##.' a '##a' i '##i' r '##r' s '##s' u '##u' \
        dog dogs running)" ]
}

@test "tokenize build-vocab respects size and min-count" {
    printf 'dog dog cat\ndog cat bird\n' > words.txt
    run "$BIN" --build-vocab --min-count 2 --vocab-size 100 words.txt
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "$output" | tail -n 2 | tr '\n' ' ')" = "dog cat " ]
    run "$BIN" --build-vocab --vocab-size 9 words.txt
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 9 ]
}

@test "tokenize build-vocab then tokenize round trip" {
    "$BIN" --build-vocab --dataset data.json --split train -o learned.txt
    run "$BIN" --vocab learned.txt --dataset data.json --split train --text
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '5\ta dog .\n6\tdogs')" ]
}

@test "tokenize build-vocab with dataset needs --split" {
    run --separate-stderr "$BIN" --build-vocab --dataset data.json
    [ "$status" -eq 2 ]
    [[ "$stderr" == "snn-tokenize: --build-vocab with --dataset needs --split"* ]]
}

@test "tokenize usage errors exit 2" {
    run "$BIN" caps.txt
    [ "$status" -eq 2 ]
    run "$BIN" --vocab vocab.txt --max-length 0 caps.txt
    [ "$status" -eq 2 ]
    run "$BIN" --vocab vocab.txt --dataset data.json caps.txt
    [ "$status" -eq 2 ]
    run "$BIN" --vocab vocab.txt --split train caps.txt
    [ "$status" -eq 2 ]
    run "$BIN" --build-vocab --vocab vocab.txt caps.txt
    [ "$status" -eq 2 ]
    run --separate-stderr "$BIN" --bogus
    [ "$status" -eq 2 ]
    [ "$stderr" = "$(printf "snn-tokenize: unknown option '--bogus'\nTry 'snn-tokenize --help' for more information.")" ]
}

@test "tokenize --help and --version" {
    run "$BIN" --help
    [ "$status" -eq 0 ]
    [[ "$output" == "Usage: snn-tokenize"* ]]
    run "$BIN" --version
    [ "$status" -eq 0 ]
    [[ "$output" == "snn-tokenize snn-itr "* ]]
}

@test "tokenize -v prints counts" {
    run --separate-stderr "$BIN" -v --vocab vocab.txt --text caps.txt
    [ "$status" -eq 0 ]
    [ "$stderr" = "snn-tokenize: 2 captions, 8 tokens, 0 of them [UNK]" ]
}
