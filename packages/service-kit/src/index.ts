export { BoundedCache, type BoundedCacheOptions } from "@mimi/bounded-cache";
export { type AppOptions, createApp, DEFAULT_TRUST_PROXY, type ReadinessCheck } from "./app.js";
export { jsonBody, jsonTooDeep, validate } from "./body.js";
export { type Coalesced, type CoalesceOptions, coalesce } from "./coalesce.js";
export {
  ConfigError,
  type ConfigOf,
  type ConfigSpec,
  type ConfigVariable,
  describeConfig,
  parse,
  readConfig,
  readConfigOrExit,
} from "./config.js";
export {
  isDependencyUnavailable,
  notFoundHandler,
  PROBLEM_CONTENT_TYPE,
  ProblemError,
  problemHandler,
  problems,
  sendProblem,
  toProblem,
} from "./errors.js";
export {
  type ComponentHealth,
  createHealthRegistry,
  type HealthCheck,
  type HealthRegistry,
  livenessFailures,
  readinessFailures,
} from "./health.js";
export { DEFAULT_JSON_MAX_DEPTH, exceedsJsonDepth } from "./json-depth.js";
export { createLogger, type Logger } from "./logger.js";
export { createMetrics, type Metrics } from "./metrics.js";
export {
  installProcessErrorPolicy,
  type ProcessErrorPolicyOptions,
  UNHANDLED_ERROR_EXIT_CODE,
} from "./process-errors.js";
export { type RememberFoundOptions, rememberFound } from "./remember-found.js";
export { asyncRoute } from "./routes.js";
export { type RunningServer, type StartOptions, startServer } from "./server.js";
export { currentServiceRuntime, runWithServiceRuntime, type ServiceRuntime } from "./service-runtime.js";
export {
  preloadInstrumentations,
  startTracing,
  type Tracing,
  type TracingOptions,
  tracingRequested,
} from "./tracing.js";
