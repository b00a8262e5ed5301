// Command genranks converts tiktoken rank files (one "base64-token rank"
// pair a line, ranks 0…n-1 in order) into the compact form embedded by
// tokenizer/internal/ranks: gzip of uvarint(n) followed by uvarint(len) and
// the bytes of each token, in rank order.
//
// It is run by scripts/tokenizer/refresh.sh, never by tests or builds:
//
//	go run ./scripts/tokenizer/genranks -o tokenizer/internal/ranks/cl100k_base.bin.gz cl100k_base.tiktoken
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"strconv"
)

func main() {
	out := flag.String("o", "", "output file (.bin.gz)")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: genranks -o OUT.bin.gz IN.tiktoken")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "genranks:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var tokens [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		tok, rankStr, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			return fmt.Errorf("line %d: no rank", len(tokens)+1)
		}
		rank, err := strconv.Atoi(string(rankStr))
		if err != nil {
			return fmt.Errorf("line %d: %w", len(tokens)+1, err)
		}
		if rank != len(tokens) {
			return fmt.Errorf("line %d: rank %d, want %d (ranks must be contiguous)", len(tokens)+1, rank, len(tokens))
		}
		b, err := base64.StdEncoding.DecodeString(string(tok))
		if err != nil {
			return fmt.Errorf("line %d: %w", len(tokens)+1, err)
		}
		tokens = append(tokens, b)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	var raw bytes.Buffer
	raw.Write(binary.AppendUvarint(nil, uint64(len(tokens))))
	for _, t := range tokens {
		raw.Write(binary.AppendUvarint(nil, uint64(len(t))))
		raw.Write(t)
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	// The header carries no name and no time, so the output is reproducible.
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, gz.Bytes(), 0o644)
}
