// Package llmeter measures the latency, throughput and cost of large language
// model APIs. It is a Go re-implementation of awslabs/llmeter, file-compatible
// with it: run folders written here load in LLMeter and LLMeter's load here.
//
// The nouns are LLMeter's:
//
//   - An Endpoint is an instrumented LLM API. Invoke is the one lifecycle
//     wrapper every call goes through: it prepares the payload, owns the
//     monotonic clock, captures errors and panics, and back-fills metadata;
//     a provider (package endpoints/…) only reports what it parses to a
//     Recorder. Each call yields an InvocationResponse.
//   - A Runner sends a batch of concurrent requests through an Endpoint
//     (clients × requests, or for a duration), streams every response to
//     responses.jsonl as it arrives, computes statistics and saves the run
//     folder.
//   - A Result is a finished (or interrupted, or recovered) run; LoadResult
//     reads one back, from this tool or from LLMeter.
//   - Callbacks hook into a run: before it, around every request, after it.
//
// The package never prints, exits or handles signals; cancel the context
// given to Runner.Run to stop a run (everything received is saved).
//
// # Statistics
//
// There is one definition of every statistic, used live, at the end of a run
// and when a folder is loaded again (LLMeter's live and reloaded statistics
// differ; ours do not). Percentiles are bit-identical to LLMeter's (Python's
// statistics.quantiles, "exclusive" method); averages are rounded once from
// the exact sum, as Python's statistics.mean. Latency and token statistics
// are taken over successful responses; rates (requests_per_minute,
// average_*_tokens_per_minute, output_tps) over total_test_time.
package llmeter
