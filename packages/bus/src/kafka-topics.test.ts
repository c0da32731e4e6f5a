import { describe, expect, it } from "vitest";
import { isTopicPropagationError, leaderlessPartitions, TopicProvisioner } from "./kafka-topics";
import { gate } from "./wait";

describe("TopicProvisioner", () => {
  it("creates each topic once, concurrent callers sharing one creation", async () => {
    const created = gate();
    const requests: string[][] = [];
    const provisioner = new TopicProvisioner((topics) => {
      requests.push(topics);
      return created.promise;
    });
    const first = provisioner.ensure(["a", "b", "a"]);
    const second = provisioner.ensure(["b", "c"]);

    expect(requests).toEqual([["a", "b"], ["c"]]);
    expect(provisioner.isCreated("a")).toBe(false);
    created.open();
    await Promise.all([first, second]);
    await provisioner.ensure(["a", "b", "c"]);
    expect(requests).toHaveLength(2);
    expect(["a", "b", "c"].map((topic) => provisioner.isCreated(topic))).toEqual([true, true, true]);
  });

  it("forgets a failed creation, so the next call tries again", async () => {
    let attempts = 0;
    const provisioner = new TopicProvisioner(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("brokers unreachable");
    });
    await expect(provisioner.ensure(["a"])).rejects.toThrow("brokers unreachable");
    expect(provisioner.isCreated("a")).toBe(false);
    await provisioner.ensure(["a"]);
    expect(attempts).toBe(2);
    expect(provisioner.isCreated("a")).toBe(true);
  });
});

describe("topic propagation errors", () => {
  it("recognizes the broker's propagation errors, also when a kafkajs retry wrapped them", () => {
    const unknown = {
      type: "UNKNOWN_TOPIC_OR_PARTITION",
      message: "This server does not host this topic-partition",
    };
    expect(isTopicPropagationError(unknown)).toBe(true);
    expect(isTopicPropagationError({ name: "KafkaJSNumberOfRetriesExceeded", cause: unknown })).toBe(true);
    expect(isTopicPropagationError({ type: "LEADER_NOT_AVAILABLE" })).toBe(true);
    expect(isTopicPropagationError({ type: "TOPIC_AUTHORIZATION_FAILED" })).toBe(false);
    expect(isTopicPropagationError(new Error("connection refused"))).toBe(false);
    expect(isTopicPropagationError(undefined)).toBe(false);
  });

  it("lists partitions without a leader and topics the metadata does not know yet", () => {
    const metadata = [
      {
        name: "t1",
        partitions: [
          { partitionId: 0, leader: 1 },
          { partitionId: 1, leader: -1 },
        ],
      },
      { name: "t2", partitions: [{ partitionId: 0, leader: 1, partitionErrorCode: 5 }] },
      { name: "t3", partitions: [{ partitionId: 0, leader: 1, partitionErrorCode: 0 }] },
    ];
    expect(leaderlessPartitions(["t1", "t2", "t3", "t4"], metadata)).toEqual(["t1/1", "t2/0", "t4/*"]);
    expect(leaderlessPartitions(["t3"], metadata)).toEqual([]);
  });
});
