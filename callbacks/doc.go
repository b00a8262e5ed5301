// Package callbacks holds llmeter's built-in callbacks, one package each —
// cost (LLMeter's CostModel), mlflow (LLMeter's MlflowCallback) and
// cachebuster — and Load, which re-creates a callback from the
// configuration saved in run_config.json.
package callbacks
