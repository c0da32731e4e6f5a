import { Partitioners } from "kafkajs";
import { describe, expect, it } from "vitest";
import { murmur2, partitionForKey, toPositive } from "./partitioner";

const bytes = (value: string) => new TextEncoder().encode(value);

describe("murmur2", () => {
  // Reference values from Apache Kafka's UtilsTest.testMurmur2.
  it.each([
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ])("hashes %j like Kafka", (key, expected) => {
    expect(murmur2(bytes(key))).toBe(expected);
  });

  it("hashes multi-byte UTF-8 keys by their bytes", () => {
    expect(murmur2(bytes("é"))).toBe(murmur2(new Uint8Array([0xc3, 0xa9])));
    expect(murmur2(bytes("é"))).not.toBe(murmur2(new Uint8Array([0xe9])));
  });
});

describe("partitionForKey", () => {
  it("clears the sign bit rather than taking the absolute value", () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });

  it("agrees with kafkajs's Java-compatible default partitioner", () => {
    const kafkaPartitioner = Partitioners.DefaultPartitioner();
    for (const partitionCount of [1, 3, 6, 12]) {
      const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (const key of [
        "channel:general",
        "user:alice@a.example",
        "https://b.example",
        "",
        "ü-ключ",
        "21",
      ]) {
        const expected = kafkaPartitioner({
          topic: "t",
          partitionMetadata,
          message: { key: Buffer.from(key), value: null },
        });
        expect(partitionForKey(key, partitionCount)).toBe(expected);
      }
    }
  });

  it("refuses a partition count that is not a positive integer", () => {
    expect(() => partitionForKey("k", 0)).toThrow(RangeError);
    expect(() => partitionForKey("k", 1.5)).toThrow(RangeError);
  });
});
