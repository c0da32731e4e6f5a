import { describe, expect, it } from "vitest";
import { addressCount, addressingExcess, recipientExcess } from "./ingest-limits.js";

const limits = { maxAddresses: 4, maxRecipients: 3, maxCopyBytes: 1_000 };
const actor = (n: number) => `https://b.example/users/u${n}`;

describe("ingest limits", () => {
  it("counts every addressing field, bto and bcc included, and object references", () => {
    const activity = {
      to: [actor(1), actor(2)],
      cc: actor(3),
      bto: [{ id: actor(4) }],
      bcc: [actor(5)],
      audience: [actor(6)],
      object: { to: [actor(7)] },
    };
    expect(addressCount(activity)).toBe(6);
    expect(addressingExcess(activity, limits)).toContain("names 6 addresses");
    expect(addressingExcess({ to: [actor(1)], bcc: [actor(2), actor(3), actor(4)] }, limits)).toBeUndefined();
  });

  it("caps the users one delivery reaches, and the bytes it stores for them", () => {
    expect(recipientExcess(3, 100, limits)).toBeUndefined();
    expect(recipientExcess(4, 1, limits)).toContain("at most 3 per request");
    expect(recipientExcess(2, 501, limits)).toContain("at most 1000 bytes per request");
    expect(recipientExcess(2, 500, limits)).toBeUndefined();
  });
});
