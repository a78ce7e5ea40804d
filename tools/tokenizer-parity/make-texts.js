// Writes the parity texts (JSONL, one JSON string per line) to stdout: every BIO and QA text of a FactTrace world
// folder (bio.jsonl, qa_*.jsonl; `facttrace world --out DIR`), up to --max of them, then hand-written edge cases:
// digits, spaces, punctuation, unicode, emoji, control characters, strings that look like special or byte tokens.
// Usage: node make-texts.js WORLD_DIR [--max N] > texts.jsonl
'use strict';
const fs = require('fs');
const path = require('path');
const args = process.argv.slice(2);
if (args.length < 1) { console.error('usage: node make-texts.js WORLD_DIR [--max N]'); process.exit(2); }
const world = args[0];
const max = args.includes('--max') ? parseInt(args[args.indexOf('--max') + 1], 10) : 2400;
const texts = [];
const seen = new Set();
function add(t) { if (typeof t === 'string' && !seen.has(t)) { seen.add(t); texts.push(t); } }
function strings(obj, out) {
  if (typeof obj === 'string') out.push(obj);
  else if (Array.isArray(obj)) obj.forEach(x => strings(x, out));
  else if (obj && typeof obj === 'object') for (const k of Object.keys(obj)) if (['text', 'question', 'answer', 'prompt'].includes(k)) strings(obj[k], out);
}
const files = fs.readdirSync(world).filter(f => /^(bio|qa_.*)\.jsonl$/.test(f)).sort();
const perFile = Math.ceil(max / Math.max(1, files.length));
for (const f of files) {
  const lines = fs.readFileSync(path.join(world, f), 'utf8').split('\n').filter(l => l.trim());
  let n = 0;
  for (const line of lines) {
    if (n >= perFile) break;
    const out = [];
    strings(JSON.parse(line), out);
    for (const s of out) { add(s); n++; }
    // QA as the trainer sees it: question and answer joined by a space.
    const o = JSON.parse(line);
    if (o.question && o.answer) add(o.question + ' ' + o.answer);
  }
}
const edge = [
  '', ' ', '  ', '   leading', 'trailing   ', 'a  b   c    d', '\t tab', 'new\nline', '\r\n', '\n\n\n',
  '0', '7', '12', '123', '1234', '12345', '3.14159', '1,000,000', '2026-12-01', '+49 30 1234567', '0x1F', '007',
  'Hello, world!', "It's", "don't", "I'm", "we'll", "they've", "she'd", 'Mr. Smith', 'e.g.', '...', '?!', '!!!', '—', '–',
  '"quoted"', "'single'", '(parens)', '[brackets]', '{braces}', '<angle>', 'a/b\\c', 'snake_case', 'kebab-case', 'CamelCase',
  'café', 'naïve', 'Zürich', 'São Paulo', 'Kraków', 'Ångström', 'façade', 'Œuvre', 'ß', 'ﬁ', 'Ǆ',
  '日本語', '中文测试', '한국어', 'Русский текст', 'Ελληνικά', 'עברית', 'العربية', 'हिन्दी', 'ไทย',
  '😀', '👍🏽', '👨‍👩‍👧', '🇩🇪', '❤️', '∑∫√∞', '€100', '£5', '¥', '©®™', '°C', '½ ¼',
  '\u0000', '\u0001\u0002', '\u007f', '\u00a0nbsp', '\u200bzero-width', '\ufeffbom', '\ufffd', 'a\u0301',
  '<s>', '</s>', '<unk>', '<s>hello</s>', 'x<s>y', '<0x41>', '<0xZZ>', '<|endoftext|>', '<|padding|>', '<|begin_of_text|>',
  '<|end_of_text|>', '<|eot_id|>', 'a<|endoftext|>b', '▁', '▁▁x', 'Ġhello', 'Ċ',
];
for (const e of edge) add(e);
// Generated: every printable ASCII char alone and doubled, words with numbers, mixed scripts.
for (let c = 32; c < 127; c++) { add(String.fromCharCode(c)); add(String.fromCharCode(c).repeat(2) + 'x'); }
for (let i = 0; i < 60; i++) add(`Person ${i} was born on ${1 + (i % 28)} ${['January', 'March', 'July'][i % 3]} ${1900 + 7 * i}.`);
for (let i = 0; i < 40; i++) add(`${'ab'.repeat(i % 5 + 1)} ${i * 37} ${'é'.repeat(i % 3)}${'🙂'.repeat(i % 2)} end`);
for (const t of texts) process.stdout.write(JSON.stringify(t) + '\n');
