export {
  ConsumerSupervision,
  type CrashDecision,
  consumersHealth,
  DEFAULT_RESTART_POLICY,
  restartDelayMs,
  restartPolicyWith,
  type SupervisionOptions,
} from "./consumer-supervision";
export { isHandlerAnswer, pendingOutcome, settledOutcome } from "./handler-answers";
export { createInProcessBus, type InProcessBusOptions } from "./in-process";
export { defineTopic, jsonValue, type ParseResult, parseJsonValue, type TopicDefinition } from "./json";
export {
  createKafkaBus,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  type KafkaBusOptions,
} from "./kafka";
export { BUS_HEALTH_COMPONENT, consumerEventReporter, openServiceBus, serviceBusConfigSpec } from "./open";
export { murmur2, partitionForKey, toPositive } from "./partitioner";
export {
  BusHeaders,
  DEFAULT_RETRY_POLICY,
  deadTopicName,
  type HandledRecord,
  handledRecordOf,
  type OutcomePlan,
  planOutcome,
  publisherHeaders,
  type Readiness,
  readiness,
  reasonFromError,
  retryTopicName,
  type SourceTopic,
  sourceTopicsFor,
  topicsToProvision,
  validateRetryPolicy,
} from "./routing";
export { SettlementWindow, type WindowEntry } from "./settlement-window";
// Every type of the bus's interface (Bus, BusRecord, HandlerOutcome, RetryPolicy, ...).
export type * from "./types";
