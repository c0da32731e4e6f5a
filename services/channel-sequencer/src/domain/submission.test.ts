import { describe, expect, it } from "vitest";
import { readSubmission } from "./submission.js";

const C = "https://a.example/channels/abc";

describe("readSubmission", () => {
  it("tells the channel activities apart", () => {
    expect(
      readSubmission({ type: "Create", object: { type: "Service", id: C, name: "n" }, "mimi:groupInfo": {} }),
    ).toEqual({
      kind: "create",
      objectId: C,
      name: "n",
      groupInfo: {},
      carriesCommit: false,
    });
    expect(
      readSubmission({ type: "Create", object: { type: "Service", id: C }, "mimi:commit": {} }),
    ).toMatchObject({
      kind: "create",
      carriesCommit: true,
    });
    expect(readSubmission({ type: "Create", object: { type: "PrivateMessage" } }).kind).toBe("message");
    expect(readSubmission({ type: "Add", object: { id: "https://b.example/users/bob" } })).toMatchObject({
      kind: "add",
      object: "https://b.example/users/bob",
    });
    expect(readSubmission({ type: "Remove", object: "https://b.example/users/bob" }).kind).toBe("remove");
    expect(readSubmission({ type: "Update", object: { type: "Service", id: C, name: "x" } })).toEqual({
      kind: "rename",
      objectId: C,
      name: "x",
    });
    expect(
      readSubmission({
        type: "Update",
        object: { type: "mimi:Role", "mimi:member": "https://b.example/users/bob", "mimi:role": "admin" },
      }),
    ).toEqual({ kind: "role", member: "https://b.example/users/bob", role: "admin" });
    expect(readSubmission({ type: "Update", object: { type: "mimi:Role", "mimi:role": "admin" } })).toEqual({
      kind: "role",
      member: undefined,
      role: "admin",
    });
  });

  it("marks everything else unsupported", () => {
    expect(readSubmission({ type: "Create", object: { type: "Note" } })).toEqual({
      kind: "unsupported",
      description: "Create of Note",
    });
    expect(readSubmission({ type: "Update", object: "x" }).kind).toBe("unsupported");
    expect(readSubmission({ type: "Follow", object: C })).toEqual({
      kind: "unsupported",
      description: "activity type Follow",
    });
  });
});
