/**
 * Kafka's default partitioner (murmur2 of the key bytes, made positive, modulo the partition count),
 * so that the in-process bus and a Kafka cluster put a given key on the same partition number.
 */

const SEED = 0x9747b28c;
const MIX = 0x5bd1e995;

const utf8 = new TextEncoder();

/** Kafka's murmur2 (as in `org.apache.kafka.common.utils.Utils.murmur2`): a signed 32-bit hash. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let hash = (SEED ^ length) | 0;
  const wholeWords = length - (length % 4);
  for (let index = 0; index < wholeWords; index += 4) {
    let word =
      (data[index]! & 0xff) |
      ((data[index + 1]! & 0xff) << 8) |
      ((data[index + 2]! & 0xff) << 16) |
      ((data[index + 3]! & 0xff) << 24);
    word = Math.imul(word, MIX);
    word ^= word >>> 24;
    word = Math.imul(word, MIX);
    hash = Math.imul(hash, MIX) ^ word;
  }
  const tail = length % 4;
  if (tail >= 3) hash ^= (data[wholeWords + 2]! & 0xff) << 16;
  if (tail >= 2) hash ^= (data[wholeWords + 1]! & 0xff) << 8;
  if (tail >= 1) {
    hash ^= data[wholeWords]! & 0xff;
    hash = Math.imul(hash, MIX);
  }
  hash ^= hash >>> 13;
  hash = Math.imul(hash, MIX);
  hash ^= hash >>> 15;
  return hash | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for negative values). */
export function toPositive(value: number): number {
  return value & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a (UTF-8) string key. */
export function partitionForKey(key: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  return toPositive(murmur2(utf8.encode(key))) % partitionCount;
}
