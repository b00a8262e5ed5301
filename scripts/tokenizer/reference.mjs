// reference.mjs prints, as JSON, the token ids that public reference
// implementations give for the tokenizer package's test sentences; its
// output, gzipped, is tokenizer/testdata/reference_ids.json.gz. Run it by
// hand through scripts/tokenizer/refresh.sh (never from tests or CI); it needs the npm
// packages that script installs, found through $TOKREF_MODULES:
//
//   tiktoken    (npm, WASM build of OpenAI's Rust tiktoken core): cl100k_base
//               and o200k_base, encode_ordinary (special tokens are text).
//   tokenizers  (npm, Node binding of Hugging Face's Rust tokenizers library):
//               every testdata/*.tokenizer.json[.gz], encode without
//               post-processor special tokens. The llmeter tokenizer treats
//               special added tokens as plain text, so they are removed from
//               "added_tokens" before loading (non-special added tokens stay):
//               that is Hugging Face's split_special_tokens behaviour.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const modules = process.env.TOKREF_MODULES;
if (!modules) throw new Error('set TOKREF_MODULES to a node_modules folder (see refresh.sh)');
const require = createRequire(path.join(modules, 'noop.js'));
const tiktoken = require('tiktoken');
const { Tokenizer } = require('tokenizers');
const version = (p) => JSON.parse(fs.readFileSync(path.join(modules, p, 'package.json'), 'utf8')).version;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const testdata = path.join(root, 'tokenizer/testdata');

// Hand-picked sentences: ASCII, Unicode, emoji, CJK, numbers, whitespace
// runs, code, contractions, special-token text.
const sentences = [
  '',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  "I'm sure you'll see they've done it; she'd said we're OK. DON'T SHOUT, IT'S LOUD.",
  'Numbers: 0 7 42 123 1234 12345 3.14159 -2.5e10 1,000,000 ١٢٣٤ ½ Ⅻ',
  'Whitespace:  two   three    four\ttab\t\ttabs\nnewline\n\nblank\r\nCRLF   \n  trailing   ',
  '   leading spaces and trailing spaces   ',
  '\n\n\n',
  ' ',
  'Emoji: 🙂 😀👍🏽 👩‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ ✨',
  'CJK: 中文分词测试。日本語のテキストです。한국어 텍스트입니다.',
  'Accents: café naïve résumé Ångström façade coöperate Zürich São Paulo Kraków',
  'Combining: e\u0301 A\u030A n\u0303 (decomposed) vs é Å ñ; Ω ohm \u2126 angstrom \u212B',
  'Mixed scripts: Привет мир! Γειά σου Κόσμε! مرحبا بالعالم שלום עולם नमस्ते दुनिया สวัสดีชาวโลก',
  'Case: HelloWorld XMLHttpRequest iPhone McDONALD ǅemal ǈ HTTPServer',
  'def fib(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  'func main() {\n\tfmt.Println("hi") // comment\n\tx := map[string]int{"a": 1}\n}\n',
  '<html><body class="x">&nbsp;&amp;</body></html>  {"key": [1, 2.5, null, true]}',
  'URLs: https://example.com/path/to/page?q=1&r=two#frag user@example.org C:\\Windows\\System32',
  'Special tokens as text: <|endoftext|> <|fim_prefix|> <s> </s> <unk> [CLS] <think>x</think>',
  'Punctuation!!! ??? ... --- *** ___ ((( ))) ;;; :::',
  "Apostrophes: it's IT'S it’s rock'n'roll 'quoted' ''double'' '' 'ſ 'ſt",
  'Non-breaking\u00a0space, ideographic\u3000space, em\u2003space, line\u2028separator, zero\u200bwidth, tab\t end',
  'Math: ∀x∈ℝ, x²≥0; ∑ᵢ aᵢ ≈ π·r² ≠ ∞ → √2',
  'A long word: Pneumonoultramicroscopicsilicovolcanoconiosis and antidisestablishmentarianism.',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '0000000000000000000000000000000000000000 1111111 ............ ------------',
  'OPTICKS: OR, A TREATISE OF THE _Reflections_, _Refractions_, _Inflections_ and _Colours_ OF LIGHT.',
  'Added tokens: a <tool_call>  x\t<tool_call>\ty <tool_call><tool_call> [WORD] x[WORD] [WORD]y ([WORD]) \u00c5 A\u030A <think>y</think>',
  '\ufeffBOM first, then\r\ntext',
];

// Generated strings: fragments chosen to hit pre-tokenizer edge cases
// (letter categories, marks, digits, whitespace kinds, contractions,
// newlines, slashes, emoji), with a fixed seed.
const fragments = [
  'a', 'Z', 'word', 'Word', 'WORD', 'é', 'É', 'ß', 'ǅ', 'ʰ', 'ª', '中', '日本', 'ㄱ', 'u\u0308', '\u0301', '\u0903', 'क्ष',
  '0', '12', '1234', '١٢٣', '½', 'Ⅻ', '²', ' ', '  ', '   ', '\t', '\n', '\r\n', '\r', '\n\n', '\u00a0', '\u3000', '\u2028', '\u0085',
  "'s", "'S", "'ll", "'LL", "'re", "'ſ", "'", '.', ',', '!?', '/', '//', '/\n', '-', '_', '$', '€', '🙂', '👩‍👩‍👧', '🇫🇷', '\u200d', '\ufeff',
  '<|endoftext|>', '<think>', '<tool_call>', ' <tool_call> ', '[WORD]', 'A\u030A', '&lt;', 'ﬁ', '\u212b', '\u2126', '한국어', 'ไทย', 'x\u0327', 'ﾊﾝｶｸ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
];
function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(20240601);
const generated = [];
for (let i = 0; i < 400; i++) {
  const n = 1 + Math.floor(rnd() * 12);
  let s = '';
  for (let j = 0; j < n; j++) s += fragments[Math.floor(rnd() * fragments.length)];
  generated.push(s);
}

// ---- tokenizers --------------------------------------------------------------
const encoders = {};
for (const name of ['cl100k_base', 'o200k_base']) {
  const enc = tiktoken.get_encoding(name);
  const dec = new TextDecoder('utf-8', { ignoreBOM: true }); // keep a leading U+FEFF
  encoders[`tiktoken:${name}`] = {
    encode: async (s) => Array.from(enc.encode_ordinary(s)),
    decode: async (ids) => dec.decode(enc.decode(Uint32Array.from(ids))),
  };
}
const fixtures = fs.readdirSync(testdata).filter((f) => /\.tokenizer\.json(\.gz)?$/.test(f)).sort();
for (const f of fixtures) {
  let raw = fs.readFileSync(path.join(testdata, f));
  if (f.endsWith('.gz')) raw = zlib.gunzipSync(raw);
  const doc = JSON.parse(raw.toString('utf8'));
  // Special added tokens become plain text: those in the model vocabulary
  // are dropped from added_tokens; the others get a content that cannot
  // occur in the test texts, since the library numbers added tokens in
  // order and dropping them would shift the ids of the next ones.
  const vocab = doc.model.vocab;
  doc.added_tokens = doc.added_tokens
    .filter((t) => !(t.special && t.content in vocab))
    .map((t) => (t.special ? { ...t, content: `\u0000special${t.id}\u0000` } : t));
  const tok = Tokenizer.fromString(JSON.stringify(doc));
  encoders[`hf:${f}`] = {
    encode: async (s) => (await tok.encode(s, null, { addSpecialTokens: false })).getIds(),
    decode: async (ids) => tok.decode(ids, false),
  };
}

const out = {
  generated_by: 'scripts/tokenizer/reference.mjs',
  node: process.version,
  packages: { tiktoken: version('tiktoken'), tokenizers: version('tokenizers') },
  tokenizers: Object.keys(encoders),
  cases: [],
  long: {},
};
for (const [kind, list] of [['sentence', sentences], ['generated', generated]]) {
  for (const text of list) {
    const c = { kind, text, ids: {}, decoded: {} };
    for (const [name, e] of Object.entries(encoders)) {
      const ids = await e.encode(text);
      c.ids[name] = ids;
      // Decoded text, when it differs from the input (e.g. <unk>).
      const d = await e.decode(ids);
      if (d !== text) c.decoded[name] = d;
    }
    out.cases.push(c);
  }
}
// The long text: token count and SHA-256 of the ids written as decimal
// numbers joined by ",".
const longText = fs.readFileSync(path.join(testdata, 'opticks.txt'), 'utf8');
for (const [name, e] of Object.entries(encoders)) {
  const ids = await e.encode(longText);
  out.long[name] = {
    file: 'opticks.txt',
    count: ids.length,
    sha256: crypto.createHash('sha256').update(ids.join(',')).digest('hex'),
  };
}
// One case a line keeps the file small and its diffs readable.
let s = '{\n';
for (const k of ['generated_by', 'node', 'packages', 'tokenizers', 'long']) s += ` ${JSON.stringify(k)}: ${JSON.stringify(out[k])},\n`;
s += ' "cases": [\n' + out.cases.map((c) => '  ' + JSON.stringify(c)).join(',\n') + '\n ]\n}\n';
process.stdout.write(s);
