// Package cachebuster is a callback that makes every request's prompt
// unique, so that no request is served from a prompt or response cache: it
// prefixes a short tag (random, or a counter) to the first text of the first
// user message, or of the system prompt.
//
// It knows the payload shapes of every endpoint type:
//
//   - "messages" (OpenAI Chat Completions, Anthropic Messages, Bedrock
//     Converse, Ollama chat): content as a string, or as parts with a
//     "text" ({"type": "text", "text": …}, Converse's {"text": …});
//   - "system" (Anthropic: a string or text blocks; Converse: [{"text": …}]),
//     a "system"/"developer" message (OpenAI, Ollama), "instructions"
//     (OpenAI Responses);
//   - "input" (OpenAI Responses: a string, or messages whose parts are
//     input_text);
//   - "inputs" (SageMaker/TGI), "prompt" (Ollama generate, completions,
//     Bedrock InvokeModel for Llama and Mistral), "inputText" (Titan),
//     "contents" (Gemini: parts with a "text").
//
// The tag is recorded on each response as resp.Extra["cache_buster"] (the
// sidecar file), read back from the payload that was sent.
package cachebuster
