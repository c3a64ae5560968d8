#!/usr/bin/env bats
# Checks of the committed emoji subset in examples/emoji. Each check prints the
# offending images or emoji, so a failure names its cause. Nothing is downloaded.
# EMOJI_DATASET_DIR points the checks at another build, such as data/full (which
# fails the size check only).

setup() {
    DATASET_DIR="${EMOJI_DATASET_DIR:-$BATS_TEST_DIRNAME/../../examples/emoji}"
    DATASET_JSON="$DATASET_DIR/dataset.json"
    if ! command -v node >/dev/null 2>&1; then
        echo "node not found: 'make deps' installs Node.js, which these checks need" >&2
        return 1
    fi
}

# Runs a JavaScript check body with `images` (the parsed image list) and
# `groups` (a Map from group key to its images) in scope. The body prints one
# line per problem.
check_dataset() {
    local prelude='
const fs = require("fs");
const images = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).images;
const groups = new Map();
for (const image of images) {
  if (!groups.has(image.group)) groups.set(image.group, []);
  groups.get(image.group).push(image);
}
'
    run node -e "$prelude$1" "$DATASET_JSON"
}

# Prints the problems that the last check found, then fails if there were any.
assert_no_problems() {
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "dataset.json parses with the Karpathy fields" {
    run node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (d.dataset !== "emoji") console.log("dataset is", d.dataset);
if (!Array.isArray(d.images) || d.images.length === 0) console.log("no images");
' "$DATASET_JSON"
    assert_no_problems

    check_dataset '
for (const [i, im] of images.entries()) {
  for (const key of ["filename", "filepath", "split", "group"]) {
    if (typeof im[key] !== "string" || im[key] === "") console.log(`image ${i}: ${key} missing`);
  }
  if (im.imgid !== i) console.log(`image ${i}: imgid ${im.imgid}`);
  if (!Array.isArray(im.sentences) || !Array.isArray(im.sentids)) console.log(`image ${i}: no sentences`);
  else if (im.sentences.map((s) => s.sentid).join() !== im.sentids.join()) console.log(`image ${i}: sentids differ from sentences`);
}
'
    assert_no_problems
}

@test "every referenced image is a 64x64 PNG" {
    check_dataset 'for (const im of images) console.log(`${im.filepath}/${im.filename}`);'
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -gt 0 ]

    local bad="" file header
    for file in "${lines[@]}"; do
        if [ ! -f "$DATASET_DIR/$file" ]; then
            bad="$bad missing:$file"
            continue
        fi
        # Bytes 0-7: PNG signature, 12-15: "IHDR", 16-19 and 20-23: width and
        # height, big-endian; 0x40 is 64.
        header=$(od -An -tx1 -N24 "$DATASET_DIR/$file" | tr -d ' \n')
        if [ "$header" != "89504e470d0a1a0a0000000d494844520000004000000040" ]; then
            bad="$bad not-64x64-png:$file"
        fi
    done
    echo "$bad"
    [ -z "$bad" ]
}

@test "every image file is referenced" {
    check_dataset 'for (const im of images) console.log(`${im.filepath}/${im.filename}`);'
    [ "$status" -eq 0 ]
    local referenced
    referenced=$(printf '%s\n' "${lines[@]}" | sort)

    run sh -c 'cd "$1" && find images -type f | sort' sh "$DATASET_DIR"
    [ "$status" -eq 0 ]
    diff <(echo "$referenced") <(echo "$output")
}

@test "every emoji has 2 to 5 distinct captions" {
    check_dataset '
for (const [group, members] of groups) {
  const raws = members[0].sentences.map((s) => s.raw);
  if (raws.length < 2 || raws.length > 5) console.log(`${group}: ${raws.length} captions`);
  const lower = raws.map((r) => r.toLowerCase());
  if (new Set(lower).size !== lower.length) console.log(`${group}: duplicate captions ${JSON.stringify(raws)}`);
  for (const raw of raws) if (typeof raw !== "string" || raw.trim() === "") console.log(`${group}: empty caption`);
}
'
    assert_no_problems
}

@test "both renderings share group, split and sentids" {
    check_dataset '
for (const [group, members] of groups) {
  const paths = members.map((im) => im.filepath).sort().join();
  if (paths !== "images/google,images/twitter") console.log(`${group}: renderings ${paths}`);
  for (const im of members) {
    if (im.filename !== `${group}.png`) console.log(`${group}: file name ${im.filename}`);
    if (im.split !== members[0].split) console.log(`${group}: splits ${im.split} and ${members[0].split}`);
    if (im.sentids.join() !== members[0].sentids.join()) console.log(`${group}: sentids differ`);
    const raws = im.sentences.map((s) => s.raw).join("|");
    if (raws !== members[0].sentences.map((s) => s.raw).join("|")) console.log(`${group}: captions differ`);
  }
}
'
    assert_no_problems
}

@test "sentids are unique to one emoji" {
    check_dataset '
const owner = new Map();
for (const [group, members] of groups) {
  for (const id of members[0].sentids) {
    if (owner.has(id)) console.log(`sentid ${id}: in ${owner.get(id)} and ${group}`);
    owner.set(id, group);
  }
}
'
    assert_no_problems
}

@test "no group is in two splits" {
    check_dataset '
const splitOf = new Map();
for (const im of images) {
  if (!["train", "val", "test"].includes(im.split)) console.log(`${im.group}: split ${im.split}`);
  if (splitOf.has(im.group) && splitOf.get(im.group) !== im.split) console.log(`${im.group}: in ${splitOf.get(im.group)} and ${im.split}`);
  splitOf.set(im.group, im.split);
}
'
    assert_no_problems
}

@test "split proportions near 80/10/10" {
    check_dataset '
const count = { train: 0, val: 0, test: 0 };
for (const members of groups.values()) count[members[0].split]++;
const total = groups.size;
const limits = { train: [70, 90], val: [5, 15], test: [5, 15] };
for (const [split, [low, high]] of Object.entries(limits)) {
  const percent = 100 * count[split] / total;
  if (percent < low || percent > high) console.log(`${split}: ${percent.toFixed(1)} per cent of ${total} emoji`);
}
if (count.test < 30) console.log(`test: only ${count.test} emoji, expected at least 30`);
'
    assert_no_problems
}

@test "licence notices name every source" {
    local notices="$DATASET_DIR/LICENSES.md"
    [ -f "$notices" ]
    grep -q "Apache License" "$notices"
    grep -q "creativecommons.org/licenses/by/4.0" "$notices"
    grep -q "Twitter, Inc and other contributors" "$notices"
    grep -q "Copyright (c) 2013 Cal Henderson" "$notices"
    grep -q "UNICODE LICENSE V3" "$notices"
}

@test "subset folder is under 3 MB" {
    run du -sb "$DATASET_DIR"
    [ "$status" -eq 0 ]
    local bytes=${output%%[[:space:]]*}
    echo "$DATASET_DIR is $bytes bytes"
    [ "$bytes" -lt 3000000 ]
}
