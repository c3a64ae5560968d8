#!/usr/bin/env node
// Builds the emoji image-text retrieval dataset in the Karpathy split layout.
//
// Images: the 64x64 PNGs of emoji-datasource-google (Noto Emoji) and
// emoji-datasource-twitter (Twemoji), two renderings of each emoji sharing one
// "group" key. Captions: the English CLDR short name ("tts"), the emoji-datasource
// name and phrases of CLDR keywords, 2 to 5 per emoji. Splits are by emoji.
//
// The four npm packages are fetched with `npm pack` and unpacked with `tar`, and
// nothing else touches the network. Needs Node.js 18 or later and no npm dependencies.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const PROGRAM = 'build-emoji-dataset';
const REPO_ROOT = path.resolve(__dirname, '..');
const EMOJI_VERSION = process.env.EMOJI_DATASOURCE_VERSION || '16.0.0';
const CLDR_VERSION = process.env.CLDR_ANNOTATIONS_VERSION || '48.2.0';
const RENDERINGS = ['google', 'twitter'];
const IMAGE_SIZE = 64;
const MAX_KEYWORD_PHRASES = 3;
const MAX_KEYWORDS_PER_PHRASE = 4;

// The packages and the tarball members that the build reads. The rest of each
// tarball (sprite sheets, other sizes) is not unpacked.
const PACKAGES = [
  { name: 'emoji-datasource-google', version: EMOJI_VERSION,
    members: ['package/emoji.json', 'package/LICENSE', 'package/img/google/64'] },
  { name: 'emoji-datasource-twitter', version: EMOJI_VERSION,
    members: ['package/img/twitter/64'] },
  { name: 'cldr-annotations-full', version: CLDR_VERSION,
    members: ['package/LICENSE', 'package/annotations/en/annotations.json'] },
  { name: 'cldr-annotations-derived-full', version: CLDR_VERSION,
    members: ['package/annotationsDerived/en/annotations.json'] },
];

const USAGE = `Usage: ${PROGRAM} [OPTIONS]

Builds the emoji image-text retrieval dataset (dataset.json, images/, LICENSES.md).

Options:
  --out DIR      output folder, replaced as a whole [data/full, or examples/emoji
                 with --subset]
  --subset N     keep N emoji, spread over categories and splits [all]
  --seed S       seed of the shuffle that picks splits and the subset, 0 to 4294967295 [1]
  --work DIR     folder for the downloaded packages, reused when present
                 [build/emoji-packages]
  -q, --quiet    print errors only
  -h, --help     print this help

Environment:
  EMOJI_DATASOURCE_VERSION  version of emoji-datasource-google/-twitter [16.0.0]
  CLDR_ANNOTATIONS_VERSION  version of cldr-annotations-(derived-)full [48.2.0]
`;

class UsageError extends Error {}
class BuildError extends Error {}

let quiet = false;

function log(message) {
  if (!quiet) process.stderr.write(`${PROGRAM}: ${message}\n`);
}

// ---- Options ----

function parseCount(option, text, min, max) {
  if (!/^[0-9]+$/.test(text || '')) {
    throw new UsageError(`invalid ${option}: on value '${text}': give a whole number`);
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new UsageError(`invalid ${option}: on value ${text}: give a number from ${min} to ${max}`);
  }
  return value;
}

function parseArgs(argv) {
  const opts = { out: null, work: path.join(REPO_ROOT, 'build', 'emoji-packages'), subset: 0, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const takesValue = ['--out', '--work', '--subset', '--seed'].includes(name);
    let value = null;
    if (!takesValue && name !== arg) throw new UsageError(`unexpected value: on '${arg}': ${name} takes no value`);
    if (takesValue) {
      value = eq > 0 && name !== arg ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`missing value: on option ${name}: see --help`);
    }
    if (name === '-h' || name === '--help') { process.stdout.write(USAGE); process.exit(0); }
    else if (name === '-q' || name === '--quiet') quiet = true;
    else if (name === '--out') opts.out = value;
    else if (name === '--work') opts.work = value;
    else if (name === '--subset') opts.subset = parseCount('--subset', value, 1, 1e6);
    else if (name === '--seed') opts.seed = parseCount('--seed', value, 0, 0xffffffff);
    else throw new UsageError(`unknown option: on '${arg}': see --help`);
  }
  if (opts.out === null) {
    opts.out = path.join(REPO_ROOT, opts.subset ? 'examples/emoji' : 'data/full');
  }
  if (opts.out === '') throw new UsageError('invalid --out: on an empty path: give a folder');
  return opts;
}

// ---- Deterministic shuffle ----

// mulberry32, a small 32-bit PRNG. Its integer arithmetic is exact in JavaScript,
// so a seed gives the same splits on every Node.js version. Math.random has no seed.
function mulberry32(seed) {
  let state = seed >>> 0;
  return function next() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Fisher-Yates, in place.
function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

// ---- Packages ----

function run(command, args, options, failureMessage) {
  try {
    return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (err) {
    const lines = err.stderr ? String(err.stderr).trim().split('\n') : [];
    const useful = lines.filter((line) => line && !line.includes('complete log'));
    const detail = useful.length ? useful.slice(0, 2).join(' | ') : err.message;
    throw new BuildError(`${failureMessage}: ${detail}`);
  }
}

// Downloads NAME@VERSION with `npm pack` and unpacks the listed members into
// WORK/NAME-VERSION/package. A folder left by an earlier complete run is reused.
// The ".complete" marker is written last, so an interrupted unpack is redone.
function fetchPackage(pkg, work) {
  const spec = `${pkg.name}@${pkg.version}`;
  const dir = path.join(work, `${pkg.name}-${pkg.version}`);
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) {
    log(`reusing ${dir}`);
    return path.join(dir, 'package');
  }

  const tarball = path.join(work, `${pkg.name}-${pkg.version}.tgz`);
  if (!fs.existsSync(tarball)) {
    log(`npm pack ${spec}`);
    run('npm', ['pack', '--loglevel=error', spec], { cwd: work },
        `npm pack failed: on ${spec}: check the version and the npm registry setting (npm config get registry)`);
    if (!fs.existsSync(tarball)) {
      throw new BuildError(`npm pack wrote no ${path.basename(tarball)}: on ${spec}: check the npm version`);
    }
  }

  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', dir, ...pkg.members], {},
      `tar failed: on ${tarball}: delete the file so that it is downloaded again`);
  fs.writeFileSync(marker, `${spec}\n`);
  return path.join(dir, 'package');
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BuildError(`failed to read JSON: on ${file}: ${err.message}`);
  }
}

// ---- Captions ----

// Splits text into lower-case words of letters and digits, keeping an apostrophe
// inside a word ("man's"). snn_dataset_load reads only "raw", so these tokens serve
// readers and other tools that expect the Karpathy layout.
function tokenize(text) {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu) || [];
}

// Maps an emoji string to {tts, keywords} from the English CLDR annotations and
// derived annotations (the latter cover sequences such as flags and skin tones).
function loadCldr(fullDir, derivedDir) {
  const annotations = new Map();
  const files = [
    [path.join(fullDir, 'annotations/en/annotations.json'), 'annotations'],
    [path.join(derivedDir, 'annotationsDerived/en/annotations.json'), 'annotationsDerived'],
  ];
  for (const [file, key] of files) {
    const root = readJson(file)[key];
    if (!root || !root.annotations) throw new BuildError(`missing "${key}.annotations": on ${file}: check the package version`);
    for (const [text, entry] of Object.entries(root.annotations)) {
      if (!annotations.has(text)) {
        annotations.set(text, { tts: (entry.tts || [])[0] || null, keywords: entry.default || [] });
      }
    }
  }
  return annotations;
}

// CLDR keys some emoji with U+FE0F (fully qualified) and some without it.
function findAnnotation(annotations, unified) {
  const codePoints = unified.split('-').map((hex) => parseInt(hex, 16));
  const qualified = String.fromCodePoint(...codePoints);
  const bare = String.fromCodePoint(...codePoints.filter((cp) => cp !== 0xfe0f));
  return annotations.get(qualified) || annotations.get(bare) || null;
}

// Splits the keywords into at most 3 phrases of 2 to 4 keywords joined by commas.
// Fewer than 2 keywords give no phrase, and keywords past the 12th are dropped.
function keywordPhrases(keywords) {
  const used = keywords.slice(0, MAX_KEYWORD_PHRASES * MAX_KEYWORDS_PER_PHRASE);
  const count = Math.min(MAX_KEYWORD_PHRASES, Math.floor(used.length / 2));
  const phrases = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const size = Math.floor(used.length / count) + (i < used.length % count ? 1 : 0);
    phrases.push(used.slice(start, start + size).join(', '));
    start += size;
  }
  return phrases;
}

// Returns the distinct captions of one emoji: the CLDR name, the package name and
// keyword phrases. Keywords whose words all occur in the two names come last, so
// phrases first add words that the names lack. Two captions with the same token
// sequence count as one, which also removes case-insensitive duplicates.
function buildCaptions(name, annotation) {
  const captions = [];
  const seen = new Set();
  const add = (text) => {
    const tokens = tokenize(text);
    const key = tokens.join(' ');
    if (tokens.length === 0 || seen.has(key)) return;
    seen.add(key);
    captions.push(text);
  };

  if (annotation && annotation.tts) add(annotation.tts);
  if (name) add(name);

  const nameWords = new Set(captions.flatMap(tokenize));
  const keywords = annotation ? annotation.keywords : [];
  const isNew = (keyword) => tokenize(keyword).some((word) => !nameWords.has(word));
  const ordered = [...keywords.filter(isNew), ...keywords.filter((k) => !isNew(k))];
  for (const phrase of keywordPhrases(ordered)) add(phrase);
  return captions;
}

// ---- Images ----

// Returns [width, height] from the IHDR chunk of a PNG file, or null when the file
// is not a PNG.
function pngSize(file) {
  const header = Buffer.alloc(24);
  const fd = fs.openSync(file, 'r');
  try {
    if (fs.readSync(fd, header, 0, 24, 0) < 24) return null;
  } finally {
    fs.closeSync(fd);
  }
  const signature = '89504e470d0a1a0a';
  if (header.toString('hex', 0, 8) !== signature || header.toString('latin1', 12, 16) !== 'IHDR') return null;
  return [header.readUInt32BE(16), header.readUInt32BE(20)];
}

function hasImage(file) {
  if (!fs.existsSync(file)) return false;
  const size = pngSize(file);
  return size !== null && size[0] === IMAGE_SIZE && size[1] === IMAGE_SIZE;
}

// ---- Emoji list ----

// Returns every emoji with a 64x64 PNG in both renderings and at least 2 captions,
// in emoji-datasource sort order. Skin-tone variants are left out because they
// share the keywords of their base emoji, so a caption would match several images.
function collectEmoji(dirs, annotations, skipped) {
  const entries = readJson(path.join(dirs.google, 'emoji.json'));
  const emoji = [];
  for (const entry of entries) {
    const unified = String(entry.unified).toLowerCase();
    const images = {};
    for (const rendering of RENDERINGS) {
      images[rendering] = path.join(dirs[rendering], 'img', rendering, String(IMAGE_SIZE), `${unified}.png`);
    }
    if (!RENDERINGS.every((r) => hasImage(images[r]))) { skipped.image++; continue; }

    const annotation = findAnnotation(annotations, unified);
    if (!annotation) skipped.cldr++;
    const captions = buildCaptions(entry.name, annotation);
    if (captions.length < 2) { skipped.captions++; continue; }

    emoji.push({ unified, category: entry.category || 'none', sortOrder: entry.sort_order, images, captions });
  }
  return emoji.sort((a, b) => a.sortOrder - b.sortOrder);
}

// Orders the emoji so that every prefix samples each category in proportion to its
// size. Within a category the shuffled emoji get the keys (i + 0.5) / size, and all
// emoji are sorted by key. A shuffled rank breaks ties between categories.
function spreadOrder(emoji, random) {
  const byCategory = new Map();
  for (const e of shuffle([...emoji], random)) {
    if (!byCategory.has(e.category)) byCategory.set(e.category, []);
    byCategory.get(e.category).push(e);
  }
  const keyed = [];
  let rank = 0;
  for (const members of byCategory.values()) {
    members.forEach((e, i) => keyed.push({ e, key: (i + 0.5) / members.length, rank: rank++ }));
  }
  keyed.sort((a, b) => a.key - b.key || a.rank - b.rank);
  return keyed.map((k) => k.e);
}

// Position i in the spread order goes to test when i % 10 == 0, to val when
// i % 10 == 1 and to train otherwise. That gives 80/10/10, and any prefix of n
// emoji has ceil(n / 10) test emoji. A subset is a prefix, so its test emoji are
// test emoji of the full set built with the same seed.
function splitOf(position) {
  const remainder = position % 10;
  if (remainder === 0) return 'test';
  if (remainder === 1) return 'val';
  return 'train';
}

// ---- Output ----

// Writes dataset.json with one image per line, so that a change shows as a small diff.
function writeDataset(file, emoji) {
  const images = [];
  let sentid = 0;
  for (const e of emoji) {
    const sentids = e.captions.map(() => sentid++);
    for (const rendering of RENDERINGS) {
      const imgid = images.length;
      images.push({
        filename: `${e.unified}.png`,
        filepath: `images/${rendering}`,
        split: e.split,
        imgid,
        group: e.unified,
        sentences: e.captions.map((raw, k) => ({ raw, tokens: tokenize(raw), sentid: sentids[k], imgid })),
        sentids,
      });
    }
  }
  const body = images.map((image) => JSON.stringify(image)).join(',\n');
  fs.writeFileSync(file, `{"dataset": "emoji", "images": [\n${body}\n]}\n`);
  return images.length;
}

function copyImages(outDir, emoji) {
  for (const rendering of RENDERINGS) {
    const dir = path.join(outDir, 'images', rendering);
    fs.mkdirSync(dir, { recursive: true });
    for (const e of emoji) fs.copyFileSync(e.images[rendering], path.join(dir, `${e.unified}.png`));
  }
}

function licenseNotices(dirs) {
  const mit = fs.readFileSync(path.join(dirs.google, 'LICENSE'), 'utf8').trim();
  const unicode = fs.readFileSync(path.join(dirs.cldr, 'LICENSE'), 'utf8').trim();
  const apache = fs.readFileSync(path.join(__dirname, 'licenses', 'Apache-2.0.txt'), 'utf8').trimEnd();
  return `# Licences of the emoji dataset

This folder was generated by examples/build-emoji-dataset.js of snn-itr from four
npm packages. The images are copied unmodified, and the captions are taken from
the data as described in examples/README.md.

| files | source | licence |
|---|---|---|
| images/google/*.png | Noto Emoji, through emoji-datasource-google ${EMOJI_VERSION} | Apache License 2.0 (flag images: public domain) |
| images/twitter/*.png | Twemoji, through emoji-datasource-twitter ${EMOJI_VERSION} | CC BY 4.0 |
| dataset.json: package names | emoji-datasource ${EMOJI_VERSION} | MIT |
| dataset.json: CLDR names and keywords | cldr-annotations-full and cldr-annotations-derived-full ${CLDR_VERSION} | Unicode License V3 |

## Noto Emoji (images/google)

Noto Emoji images from https://github.com/googlefonts/noto-emoji (the version
that emoji-datasource-google ${EMOJI_VERSION} bundles), licensed under the Apache
License, Version 2.0 (full text below). The Noto Emoji README states that its
flag images (third_party/region-flags) are in the public domain or otherwise
exempt from copyright.

## Twemoji (images/twitter)

Twemoji graphics, Copyright Twitter, Inc and other contributors,
https://github.com/jdecked/twemoji (the version that emoji-datasource-twitter
${EMOJI_VERSION} bundles), licensed under CC BY 4.0:
https://creativecommons.org/licenses/by/4.0/

## emoji-datasource (emoji names)

https://github.com/iamcal/emoji-data

${mit}

## Unicode CLDR (names and keywords)

Unicode CLDR annotations, https://github.com/unicode-org/cldr-json

${unicode}

## Apache License 2.0

${apache}
`;
}

// Builds into a temporary sibling folder and then replaces the output folder, so an
// interrupted run leaves the previous dataset in place. An existing folder that
// does not contain dataset.json is not replaced, to protect unrelated files.
function replaceFolder(outDir, build) {
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0 &&
      !fs.existsSync(path.join(outDir, 'dataset.json'))) {
    throw new BuildError(`output folder is not empty and has no dataset.json: on ${outDir}: give another --out`);
  }
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  const staging = `${outDir}.tmp.${process.pid}`;
  const retired = `${outDir}.old.tmp.${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging);
  try {
    build(staging);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  if (fs.existsSync(outDir)) fs.renameSync(outDir, retired);
  fs.renameSync(staging, outDir);
  fs.rmSync(retired, { recursive: true, force: true });
}

// ---- Summary ----

function summarize(emoji, imageCount, skipped, seconds) {
  const splits = ['train', 'val', 'test'];
  const emojiPerSplit = Object.fromEntries(splits.map((s) => [s, 0]));
  const captionsPerSplit = Object.fromEntries(splits.map((s) => [s, 0]));
  const histogram = {};
  for (const e of emoji) {
    emojiPerSplit[e.split]++;
    captionsPerSplit[e.split] += e.captions.length;
    histogram[e.captions.length] = (histogram[e.captions.length] || 0) + 1;
  }
  const captionCount = emoji.reduce((sum, e) => sum + e.captions.length, 0);
  log(`${emoji.length} emoji, ${imageCount} images, ${captionCount} captions`);
  for (const s of splits) log(`  ${s}: ${emojiPerSplit[s]} emoji, ${captionsPerSplit[s]} captions`);
  log(`  captions per emoji: ${Object.entries(histogram).map(([n, c]) => `${n}: ${c}`).join(', ')}`);
  log(`  skipped: ${skipped.image} without two 64x64 PNGs, ${skipped.captions} with fewer than 2 captions ` +
      `(${skipped.cldr} had no English CLDR entry)`);
  log(`  took ${seconds.toFixed(1)} s`);
}

// ---- Main ----

function fetchAll(work) {
  fs.mkdirSync(work, { recursive: true });
  const [google, twitter, cldr, cldrDerived] = PACKAGES.map((pkg) => fetchPackage(pkg, work));
  return { google, twitter, cldr, cldrDerived };
}

function main() {
  const started = Date.now();
  const opts = parseArgs(process.argv.slice(2));
  const outDir = path.resolve(opts.out);
  const dirs = fetchAll(path.resolve(opts.work));

  const annotations = loadCldr(dirs.cldr, dirs.cldrDerived);
  const skipped = { image: 0, captions: 0, cldr: 0 };
  const all = collectEmoji(dirs, annotations, skipped);

  const ordered = spreadOrder(all, mulberry32(opts.seed));
  ordered.forEach((e, i) => { e.split = splitOf(i); });
  if (opts.subset > all.length) {
    throw new UsageError(`invalid --subset: on value ${opts.subset}: the full set has only ${all.length} emoji`);
  }
  const selected = new Set(opts.subset ? ordered.slice(0, opts.subset) : ordered);
  const emoji = all.filter((e) => selected.has(e));

  let imageCount = 0;
  replaceFolder(outDir, (staging) => {
    copyImages(staging, emoji);
    imageCount = writeDataset(path.join(staging, 'dataset.json'), emoji);
    fs.writeFileSync(path.join(staging, 'LICENSES.md'), licenseNotices(dirs));
  });
  log(`wrote ${outDir}`);
  summarize(emoji, imageCount, skipped, (Date.now() - started) / 1000);
}

try {
  main();
} catch (err) {
  process.stderr.write(`${PROGRAM}: ${err.message}\n`);
  if (!(err instanceof UsageError) && !(err instanceof BuildError)) process.stderr.write(`${err.stack}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
}
