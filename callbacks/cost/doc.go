// Package cost is LLMeter's CostModel: a callback that estimates what each
// request and each run costs, from request dimensions (priced per token) and
// run dimensions (priced per hour of endpoint time).
//
// Request costs are recorded on every response (InvocationResponse.Extra,
// saved in the sidecar file responses.ext.jsonl) under LLMeter's names:
// "cost_<dimension>" and "cost_total". Run costs are contributed to the run's
// statistics (stats.json):
//
//	cost_<dim>_per_request-average|p50|p90|p99   per request dimension
//	cost_per_request-average|p50|p90|p99          per-request totals
//	cost_<dim>                                    every dimension, run total
//	cost_total                                    everything
//
// and, beyond LLMeter, two figures that compare runs:
//
//	cost_total_per_request                        cost_total / requests
//	cost_total_per_million_output_tokens          cost_total / output tokens × 1e6
//
// A dimension whose cost is unknown (a response without a token count, a
// run without a test time) is null on the response and left out of the
// stats, where LLMeter would raise (its defect D13). Sums over requests
// ignore unknown costs, where LLMeter would raise on None + float.
//
// Cost models are saved and loaded in LLMeter's CostModel file format
// (Save, Load, MarshalJSON): {"_type": "CostModel", "request_dims": {name:
// {"_type": class, fields…}}, "run_dims": {…}}. Dimensions: InputTokens,
// OutputTokens, EndpointTime, SageMakerRTEndpointCompute and
// SageMakerRTEndpointStorage as LLMeter has them, and CachedInputTokens,
// which LLMeter lacks.
//
// Prices: a PriceTable file maps model ids to per-token prices (Bedrock and
// other per-token APIs); SageMakerEndpoint builds a cost model for a
// SageMaker real-time endpoint from DescribeEndpoint, DescribeEndpointConfig
// and the AWS Price List API, as LLMeter's
// cost_model_from_sagemaker_realtime_endpoint does. Prices are on-demand USD
// list prices: no discounts, savings plans or free tiers.
package cost
