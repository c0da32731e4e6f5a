import { describe, expect, it } from "vitest";
import { nodeInfoDocument } from "../src/domain/documents.js";

describe("NodeInfo", () => {
  it("says whether registrations are open as MIMI_OPEN_REGISTRATIONS does", () => {
    expect(nodeInfoDocument("1.0.0", 3, true).openRegistrations).toBe(true);
    expect(nodeInfoDocument("1.0.0", 3, false).openRegistrations).toBe(false);
  });
});
