/**
 * The bus contract's delivery: records of one key in publish order, every group gets every record, a
 * group's members split the partitions, no loss over many keys (see `contract.ts`).
 */
import { expect, it } from "vitest";
import { type ContractSuite, ok, recordInto, text, textOf, uniqueName } from "./contract-support";
import type { BusRecord } from "./types";
import { delay } from "./wait";

export function deliveryContract(suite: ContractSuite): void {
  const { freshBus, subscribe, until, settleMs, manyMessages, testTimeoutMs } = suite;

  it(
    "delivers the records of one key in publish order, one record at a time per partition",
    async () => {
      const bus = await freshBus();
      const topic = uniqueName("order");
      const keys = ["k0", "k1", "k2", "k3", "k4", "k5"];
      const perKey = 20;
      const seen = new Map<string, number[]>();
      const inFlight = new Map<number, number>();
      let overlaps = 0;
      let handled = 0;
      await subscribe(bus, {
        groupId: uniqueName("order-group"),
        topics: [topic],
        handle: async (record) => {
          const running = (inFlight.get(record.partition) ?? 0) + 1;
          inFlight.set(record.partition, running);
          if (running > 1) overlaps++;
          await delay(1);
          seen.set(record.key, [...(seen.get(record.key) ?? []), Number(textOf(record))]);
          inFlight.set(record.partition, running - 1);
          handled++;
          return ok;
        },
      });
      for (let sequence = 0; sequence < perKey; sequence++) {
        await bus.publish(
          topic,
          keys.map((key) => ({ key, value: text(String(sequence)) })),
        );
      }
      await until("all records", () => handled >= keys.length * perKey);
      const expected = Array.from({ length: perKey }, (_, index) => index);
      for (const key of keys) expect(seen.get(key)).toEqual(expected);
      expect(overlaps).toBe(0);
    },
    testTimeoutMs,
  );

  it(
    "gives every consumer group every record",
    async () => {
      const bus = await freshBus();
      const topic = uniqueName("groups");
      const received = { first: [] as string[], second: [] as string[] };
      for (const which of ["first", "second"] as const) {
        await subscribe(bus, {
          groupId: uniqueName(`groups-${which}`),
          topics: [topic],
          handle: recordInto(received[which]),
        });
      }
      const values = Array.from({ length: 30 }, (_, index) => `v${index}`);
      await bus.publish(
        topic,
        values.map((value, index) => ({ key: `key-${index % 7}`, value: text(value) })),
      );
      await until("both groups", () => received.first.length >= 30 && received.second.length >= 30);
      await delay(settleMs);
      expect([...received.first].sort()).toEqual([...values].sort());
      expect([...received.second].sort()).toEqual([...values].sort());
    },
    testTimeoutMs,
  );

  it(
    "splits partitions between members of one group without duplicates",
    async () => {
      const bus = await freshBus();
      const topic = uniqueName("split");
      const groupId = uniqueName("split-group");
      const byMember = [[], []] as BusRecord[][];
      for (const member of [0, 1]) {
        await subscribe(bus, {
          groupId,
          topics: [topic],
          handle: async (record) => {
            byMember[member]!.push(record);
            return ok;
          },
        });
      }
      const count = 60;
      await bus.publish(
        topic,
        Array.from({ length: count }, (_, index) => ({ key: `key-${index}`, value: text(`v${index}`) })),
      );
      await until("all records", () => byMember[0]!.length + byMember[1]!.length >= count);
      await delay(settleMs);
      const all = [...byMember[0]!, ...byMember[1]!].map(textOf);
      expect(all.length).toBe(count);
      expect(new Set(all).size).toBe(count);
      expect(byMember[0]!.length).toBeGreaterThan(0);
      expect(byMember[1]!.length).toBeGreaterThan(0);
      const partitionsOf = (records: BusRecord[]) => new Set(records.map((record) => record.partition));
      const shared = [...partitionsOf(byMember[0]!)].filter((partition) =>
        partitionsOf(byMember[1]!).has(partition),
      );
      expect(shared).toEqual([]);
    },
    testTimeoutMs,
  );

  it(
    `delivers ${manyMessages} records over many keys with no loss and no reordering`,
    async () => {
      const bus = await freshBus();
      const topic = uniqueName("many");
      const groupId = uniqueName("many-group");
      const seen = new Map<string, number[]>();
      let handled = 0;
      for (let member = 0; member < 2; member++) {
        await subscribe(bus, {
          groupId,
          topics: [topic],
          handle: async (record) => {
            const [key, sequence] = textOf(record).split(":") as [string, string];
            seen.set(key, [...(seen.get(key) ?? []), Number(sequence)]);
            handled++;
            return ok;
          },
        });
      }
      const keyCount = 16;
      const batchSize = 50;
      const expected = new Map<string, number[]>();
      for (let start = 0; start < manyMessages; start += batchSize) {
        const batch = [];
        for (let index = start; index < Math.min(start + batchSize, manyMessages); index++) {
          const key = `key-${index % keyCount}`;
          const sequence = Math.floor(index / keyCount);
          expected.set(key, [...(expected.get(key) ?? []), sequence]);
          batch.push({ key, value: text(`${key}:${sequence}`) });
        }
        await bus.publish(topic, batch);
      }
      await until(`${manyMessages} records`, () => handled >= manyMessages);
      await delay(settleMs);
      expect(handled).toBe(manyMessages);
      for (const [key, sequences] of expected) expect(seen.get(key)).toEqual(sequences);
    },
    testTimeoutMs,
  );
}
