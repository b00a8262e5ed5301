// Package sim is a simulated LLM server. It is the ground truth for
// llmeter's demos, tests and load-generator benchmarks: every response
// follows a deterministic latency model, so a client's measurements can be
// compared with what the server intended ([Config.Truth]).
//
// One server speaks every protocol llmeter does, streaming and not, each in
// its own file and wire format (routes match path suffixes, so a base path
// such as /v1 is free):
//
//   - OpenAI Chat Completions: POST …/chat/completions (SSE, with
//     stream_options.include_usage) — chat.go;
//   - OpenAI Responses: POST …/responses — responses.go;
//   - Anthropic Messages: POST …/messages — anthropic.go;
//   - Amazon Bedrock: POST /model/{id}/converse, /converse-stream, /invoke,
//     /invoke-with-response-stream, in the AWS event-stream framing (SigV4 is
//     not checked) — bedrock.go;
//   - Amazon SageMaker: POST /endpoints/{name}/invocations and
//     /invocations-response-stream, and TGI's own /generate and
//     /generate_stream — tgi.go;
//   - Ollama: POST /api/chat and /api/generate (NDJSON) — ollama.go.
//
// Errors use each provider's own error shapes. [Transport] serves the
// server in memory, for tests on testing/synctest's fake clock.
//
// # Latency model
//
// For a request with P prompt tokens (whitespace-separated words over all
// message text) and N output tokens, the handler follows an absolute schedule
// measured from t0, the moment it starts serving the request (after any wait
// for a free slot when [Config.Capacity] is set):
//
//	TTFT      = Config.TTFT + P*Config.PrefillPerToken
//	token i   at t0 + TTFT + i*Config.ITL   (i = 0 .. N-1)
//	TTLT      = TTFT + (N-1)*Config.ITL
//
// A streaming Chat Completions response sends the role-only chunk at once
// (as real servers do), each content chunk at its scheduled time, and the finish chunk, the
// optional usage chunk and "data: [DONE]" together with the last token. A
// non-streaming response is sent whole at TTLT. Data due at the same instant is
// coalesced into one write; data is flushed before every wait. Waits use one
// reusable timer per request; on Linux the last stretch of a wait is slept
// with nanosleep, because Go's runtime timers can fire up to a millisecond
// late on an idle machine; with nanosleep, events typically land within
// 0.1-0.2 ms of their schedule. At most 4×GOMAXPROCS goroutines sleep this way at once
// (each holds an OS thread); further waits use timers alone.
//
// N is min(max_completion_tokens or max_tokens when positive, sampled length),
// where the sampled length is [Config.OutputTokens], or uniform in
// [OutputTokens*(1-OutputJitter), OutputTokens*(1+OutputJitter)] (at least 1).
// The text is N words from a fixed list, each followed by a space, so a
// whitespace tokenizer counts exactly N tokens.
//
// # Randomness and failures
//
// All randomness (lengths, injected failures, completion ids) comes from a
// PCG generator seeded with [Config.Seed] and the index of the request, so the
// same seed and the same request order give the same outputs. A fraction
// [Config.ErrorRate] of requests fail with one of [Config.ErrorKinds],
// drawn uniformly; [Config.Faults] give kinds rates of their own.
//
// # Faults
//
// One request can be given a fault, whatever the draws, by a marker
// anywhere in its body — in the prompt, typically — "[[sim-fault:KIND]]"
// ([FaultMarker]); that works for every protocol and is deterministic under
// any concurrency. An unknown KIND is answered with HTTP 400. The kinds, in
// each protocol's own shapes:
//
//   - 401, 403, 429 (with Retry-After: 1), 500, 503: answered at once with
//     that status and the provider's error body: OpenAI {"error": {"message",
//     "type", "param", "code"}}; Anthropic {"type": "error", "error":
//     {"type", "message"}} (authentication_error, permission_error,
//     rate_limit_error, api_error, overloaded_error); Bedrock and SageMaker
//     {"message"} with x-amzn-ErrorType (UnrecognizedClientException,
//     AccessDeniedException, ThrottlingException,
//     InternalServerException/InternalFailure,
//     ServiceUnavailableException/ServiceUnavailable); TGI {"error",
//     "error_type"}; Ollama {"error"}.
//   - drop: the connection is closed after about half of the tokens (on
//     SageMaker's response stream: a ModelStreamError exception with
//     ErrorCode StreamBroken, as SageMaker reports a broken container
//     connection); reset: the TCP connection is reset (RST) there instead.
//   - stall: no bytes for [Config.FaultDelay] after about half of the
//     tokens, then the rest of the response; slow-start: no headers for
//     FaultDelay, then the whole response, its schedule shifted.
//   - truncate: a clean end after about half of the tokens, without the
//     stream's terminator (data: [DONE], message_stop, response.completed,
//     messageStop/metadata, the finish chunk, TGI's last line, Ollama's done
//     line); a non-streaming body is cut in half.
//   - malformed: after about half of the tokens, an event whose JSON is cut
//     short (on AWS event streams, a frame whose CRC is wrong), then the
//     rest of the stream; a non-streaming body that is not JSON.
//   - error-event: after about half of the tokens, the provider's own
//     in-stream error, then the end of the stream: OpenAI's {"error": {…}}
//     chunk, the Responses API's "error" event, Anthropic's "event: error",
//     Bedrock's modelStreamErrorException, SageMaker's ModelStreamError
//     (ModelInvocationTimeExceeded), TGI's {"error", "error_type":
//     "generation"} event, Ollama's {"error"} line. Non-streaming requests
//     get the 500 answer instead.
//   - oversized: valid content of [Config.OversizeBytes] (64 MiB by
//     default) of text: in a stream, one text event (one SSE line, NDJSON
//     line or event-stream frame) that large after about half of the
//     tokens, written piece by piece; a non-streaming response holding that
//     much text.
//
// Mid-stream faults strike before token N/2 (of N); a request with one
// token gets them before its first. The in-memory [Transport] reports a
// reset as a *net.OpError wrapping syscall.ECONNRESET. A client that cannot
// connect (a closed port) or does not trust the server's certificate
// ([StartTLS]) are client-side situations the simulator has no kind for.
//
// # Use
//
// [Start] runs a server in-process for tests (an [httptest.Server] on
// 127.0.0.1), [StartTLS] the same with a certificate only its own client
// trusts; [ListenAndServe] serves on an address until a context is done;
// [Server] is an [http.Handler] for embedding elsewhere. [Server.Stats]
// reports request counters.
package sim
