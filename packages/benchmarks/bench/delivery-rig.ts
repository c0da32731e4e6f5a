import { actorKeyMigrations, createActorKeyStore } from "@mimi/actor-keys";
import { type Bus, type BusMessage, createInProcessBus } from "@mimi/bus";
import {
  closeDeliveryFanout,
  createDeliveryFanoutContext,
  deliveryFanoutMigrations,
  startDeliveryFanoutWorkers,
} from "@mimi/delivery-fanout";
import { createSchemeMemory, type SignatureScheme, type SigningKey } from "@mimi/http-signatures";
import { identityMigrations } from "@mimi/identity";
import { readProviderConfig } from "@mimi/provider-config";
import type { Sql } from "@mimi/store";
import { deliveryJobsTopic, destinationKey } from "@mimi/topics";
import { type BenchEnvironment, connectToMapping } from "../src/index.js";
import { BENCH_KEK } from "./settings.js";

/** The actor every delivery is signed as. */
export const SIGNER = "http://a.test/users/alice";
/** Destination origins the jobs are spread over, all answered by one sink. */
export const ORIGINS = 32;

/** A delivery's body: a Create of a 600-byte MLS message. */
export const BODY = JSON.stringify({
  "@context": "https://www.w3.org/ns/activitystreams",
  id: `${SIGNER}/activities/bench`,
  type: "Create",
  actor: SIGNER,
  object: { type: "PrivateMessage", mediaType: "message/mls", encoding: "base64", content: "A".repeat(600) },
});

/** delivery-fanout's tables and those it reads (identity's blocked domains, the actor keys). */
export const DELIVERY_MIGRATIONS = [actorKeyMigrations, identityMigrations, deliveryFanoutMigrations];

export interface DeliveryRig {
  /** `count` delivery jobs, one per origin in turn, whose activity ids start with `idPrefix`. */
  jobs(count: number, idPrefix: string): BusMessage[];
  publish(jobs: BusMessage[]): Promise<void>;
  /** Stops the workers and the bus; the sink and the database stay the caller's. */
  close(): Promise<void>;
}

export interface DeliveryRigOptions {
  sql: Sql;
  /** The local port of the sink that answers for every origin. */
  sinkPort: number;
  signingKey: SigningKey;
  /** The scheme every origin is remembered as reading; unset, delivery-fanout's default applies. */
  scheme?: SignatureScheme;
}

/**
 * delivery-fanout's `delivery.jobs` consumer on the in-process bus (as the standalone provider runs
 * it), signing as {@link SIGNER} with a fixed key and sending to {@link ORIGINS} origins that all
 * resolve to one local sink.
 */
export async function startDeliveryRig(
  environment: BenchEnvironment,
  { sql, sinkPort, signingKey, scheme }: DeliveryRigOptions,
): Promise<DeliveryRig> {
  const hosts = Array.from({ length: ORIGINS }, (_, i) => `sink${i}.test`);
  const config = readProviderConfig({
    MIMI_DOMAIN: "a.test",
    MIMI_PUBLIC_URL: "http://a.test",
    MIMI_KEY_ENCRYPTION_KEY: BENCH_KEK,
    MIMI_DEV_CONNECT_TO: connectToMapping(hosts.map((host) => [host, sinkPort])),
  });
  const signatureSchemes = createSchemeMemory();
  if (scheme) for (const host of hosts) signatureSchemes.remember(`http://${host}`, scheme);
  const bus: Bus = createInProcessBus();
  const storedKeys = createActorKeyStore(sql, config.keyEncryptionKey);
  const ctx = createDeliveryFanoutContext(
    { config, sql, logger: environment.logger, bus },
    { actorKeys: { ...storedKeys, signingKey: async () => signingKey }, signatureSchemes },
  );
  const workers = await startDeliveryFanoutWorkers(ctx);
  const firstAttemptAt = new Date().toISOString();
  return {
    jobs: (count, idPrefix) =>
      Array.from({ length: count }, (_, i) => {
        const host = hosts[i % hosts.length];
        const inbox = `http://${host}/inbox`;
        return deliveryJobsTopic.message(destinationKey(inbox), {
          activityId: `${SIGNER}/activities/${idPrefix}${i}`,
          body: BODY,
          signAs: SIGNER,
          inbox,
          recipients: [`http://${host}/users/u`],
          firstAttemptAt,
        });
      }),
    publish: (jobs) => bus.publish(deliveryJobsTopic.name, jobs),
    async close() {
      await workers.stop();
      await closeDeliveryFanout(ctx);
      await bus.close();
    },
  };
}
