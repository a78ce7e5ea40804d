// The reference ids: Hugging Face's Rust `tokenizers` (npm @anush008/tokenizers 0.6.0) on one tokenizer.json and a
// JSONL file of texts, no special tokens added; writes one JSON array of ids per text, in input order.
// Usage: node encode.js TOKENIZER.json texts.jsonl > ids.jsonl   (NODE_PATH may point at the package's node_modules)
'use strict';
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');
const [tokFile, textsFile] = process.argv.slice(2);
if (!tokFile || !textsFile) { console.error('usage: node encode.js TOKENIZER.json texts.jsonl'); process.exit(2); }
(async () => {
  const tok = Tokenizer.fromFile(tokFile);
  const texts = fs.readFileSync(textsFile, 'utf8').split('\n').filter(l => l.length > 0).map(l => JSON.parse(l));
  const out = [];
  for (const t of texts) {
    const enc = await tok.encode(t, null, { addSpecialTokens: false });
    out.push(JSON.stringify(Array.from(enc.getIds())));
  }
  process.stdout.write(out.join('\n') + '\n');
})().catch(e => { console.error(String(e)); process.exit(1); });
