// Command llmeter measures the latency and throughput of LLM APIs, like
// awslabs/llmeter, and writes LLMeter-compatible run folders.
//
// Commands:
//
//	llmeter run        run one load test (against the built-in simulator when no --base-url is given)
//	llmeter simulate   serve a simulated OpenAI-compatible API on a loopback port
//	llmeter report DIR print the statistics of a run folder (ours or Python LLMeter's)
//	llmeter version    print the version
//	llmeter completion bash|zsh|fish|powershell
//
// Output: results and reports go to stdout; the live progress display,
// notes, warnings and errors go to stderr. The live display is drawn only
// when stderr is a terminal, and is turned off by --quiet or
// LLMETER_DISABLE_ALL_PROGRESS_BARS=1.
//
// Exit codes: 0 success, 1 the run or report failed, 2 usage error (bad
// flag or value), 130 a run interrupted by SIGINT or SIGTERM (for
// "llmeter simulate", a signal is the normal way to stop: 0).
//
// Interrupting a run: the first SIGINT/SIGTERM stops sending, lets the
// requests in flight finish for up to --grace, and saves the folder with
// "interrupted": true (exit 130). A second signal exits at once (130): the
// responses already processed are in responses.jsonl, which the runner
// flushes whenever it has no response waiting, so at most the responses
// processed in the last instant are missing; summary.json and stats.json are
// not written, and `llmeter report` recovers the run from what is there.
package main
