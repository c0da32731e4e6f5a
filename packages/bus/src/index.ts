export { createInProcessBus, type InProcessBusOptions } from "./in-process";
export { defineTopic, jsonValue, type ParseResult, parseJsonValue, type TopicDefinition } from "./json";
export { createKafkaBus, type KafkaBusOptions } from "./kafka";
export { openServiceBus, serviceBusConfigSpec } from "./open";
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
export {
  type Bus,
  type BusMessage,
  type BusRecord,
  type HandlerOutcome,
  type PendingOutcome,
  pendingOutcome,
  type RecordHandler,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
  settledOutcome,
} from "./types";
