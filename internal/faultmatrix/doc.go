// Package faultmatrix holds only tests: the fault matrix of issue 9. For
// every fault the simulator injects (sim.FaultKinds) and every streaming
// endpoint llmeter has (OpenAI Chat Completions and Responses, Anthropic,
// Bedrock ConverseStream and InvokeModelWithResponseStream, SageMaker's
// response stream, TGI, Ollama), a Runner sends a few requests, some of them
// faulted with a sim.FaultMarker in their prompt, and the test checks that
// exactly those fail, each with the right error class and a message that
// says what happened, that partial text and timings survive mid-stream
// faults, and that the saved stats.json adds up. The client-side faults
// (connection refused, an untrusted certificate, a real TCP reset) run on
// 127.0.0.1 listeners; everything else on the simulator's in-memory
// transport under testing/synctest's fake clock.
//
//	go test ./internal/faultmatrix/
package faultmatrix
