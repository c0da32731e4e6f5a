import { createInProcessBus } from "./in-process";
import { createKafkaBus } from "./kafka";
import type { Bus } from "./types";

/**
 * The bus a separately deployed service uses: Kafka when brokers are configured, otherwise an
 * in-process bus (a single-process trial), which `onInProcess` is told about so the service can
 * warn that nothing else will read or feed it.
 */
export async function openServiceBus(options: {
  brokers: readonly string[];
  namespace: string;
  clientId: string;
  topics: string[];
  onInProcess: () => void;
}): Promise<Bus> {
  if (options.brokers.length === 0) {
    options.onInProcess();
    return createInProcessBus();
  }
  return createKafkaBus({
    brokers: [...options.brokers],
    clientId: options.clientId,
    namespace: options.namespace,
    topics: options.topics,
  });
}
