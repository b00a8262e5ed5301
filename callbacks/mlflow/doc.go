// Package mlflow is LLMeter's MlflowCallback: after a run it logs the run's
// parameters and statistics to an MLflow tracking server, over MLflow's
// REST API (no MLflow installation needed).
//
// Parameters are the Result fields total_requests, clients, n_requests,
// model_id, output_path, endpoint_name, provider, run_name and
// run_description (null ones left out); metrics are every numeric statistic
// (booleans as 0/1) except those, at Step. List the callback after the
// callbacks that contribute stats (the cost model).
//
// Where it logs: into the run MLFLOW_RUN_ID (or Callback.RunID) when set,
// as LLMeter logs into the active MLflow run; otherwise into a new run
// named after the LLMeter run, in the experiment Experiment
// (MLFLOW_EXPERIMENT_NAME, created if needed) or MLFLOW_EXPERIMENT_ID, or
// the default experiment. With Nested, it always creates a run named after
// the LLMeter run, as a child of RunID when there is one.
//
// The tracking server is MLFLOW_TRACKING_URI (http or https), with
// MLFLOW_TRACKING_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME/PASSWORD.
//
// A tracking server that fails or is slow never fails the load test nor
// holds it up for long: all network work happens in AfterRun, bounded by
// Timeout (default 10 s, retries included); a failure is logged and the
// run goes on.
package mlflow
