#!/usr/bin/env bash
# Regenerates the tokenizer parity fixtures in tests/FactTrace.Tests/Text/parity/ (texts + HF reference ids for the
# three real tokenizer files), gzipped. Needs .NET (for the world), Node.js and npm (installs @anush008/tokenizers
# 0.6.0 into tools/tokenizer-parity/node_modules, ignored by git). Run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(cd "$here/../.." && pwd)"; shared="$(cd "$repo/../shared" && pwd)"
out="$repo/tests/FactTrace.Tests/Text/parity"; tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
[ -d "$here/node_modules/@anush008/tokenizers" ] || (cd "$here" && npm install --no-save --no-package-lock @anush008/tokenizers@0.6.0 >/dev/null)
dotnet run --project "$repo/src/FactTrace.Cli" -- world --out "$tmp/world" --people 200 --bio-variants 2 --permute --full-name >/dev/null
node "$here/make-texts.js" "$tmp/world" --max 3000 > "$tmp/texts.jsonl"
gzip -9n < "$tmp/texts.jsonl" > "$out/texts.jsonl.gz"
for name in stories260K:"$shared/pretrained/stories260K/tokenizer.json" gpt-neox-20b:"$shared/tokenizers/gpt-neox-20b/tokenizer.json" llama-3:"$shared/tokenizers/llama-3/tokenizer.json"; do
  node "$here/encode.js" "${name#*:}" "$tmp/texts.jsonl" | gzip -9n > "$out/${name%%:*}.ids.jsonl.gz"
done
echo "$(wc -l < "$tmp/texts.jsonl") texts; fixtures in $out"
