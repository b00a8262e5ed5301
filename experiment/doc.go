// Package experiment holds llmeter's experiments: procedures made of several
// runs of an endpoint (LLMeter's Experiments).
//
//   - LoadTest runs the same payloads at a sequence of client counts, one run
//     folder per level, and can stop early when a level passes a limit.
//   - LatencyHeatmap sends prompts of several input lengths, each asked for
//     several output lengths, and reports latency per combination.
//
// Like the Runner, experiments never print, exit or trap signals; they report
// progress through callbacks and stop when their context is canceled, keeping
// every run finished so far.
package experiment
