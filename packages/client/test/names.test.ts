import { describe, expect, it } from "vitest";
import { MimiClientError } from "../src/errors.js";
import { checkChannelName, domainOfAcct, handleOfAcct, normalizeAcct } from "../src/names.js";

describe("accounts as users type them", () => {
  it("are read in every usual form", () => {
    for (const input of ["bob@b.test", "@bob@b.test", "acct:bob@b.test"])
      expect(normalizeAcct(input)).toBe("acct:bob@b.test");
    expect(handleOfAcct("acct:bob@b.test")).toBe("bob@b.test");
    expect(domainOfAcct("acct:bob@b.test")).toBe("b.test");
  });

  it("are refused with one readable line when they are not accounts", () => {
    expect(() => normalizeAcct("bob")).toThrow(MimiClientError);
    expect(() => normalizeAcct("bob")).toThrow(/^bob is not an account \(expected user@domain\)/);
  });
});

describe("channel names", () => {
  it("are one printable line of 1 to 100 characters that does not look like a URL", () => {
    expect(() => checkChannelName("general")).not.toThrow();
    expect(() => checkChannelName("é".repeat(100))).not.toThrow();
    expect(() => checkChannelName("")).toThrow("a channel name has 1 to 100 characters");
    expect(() => checkChannelName("x".repeat(101))).toThrow("a channel name has 1 to 100 characters");
    expect(() => checkChannelName("https://a.test/channels/x")).toThrow("must not look like a URL");
  });

  it("carry no control or bidi characters that could forge or hide what others see", () => {
    for (const name of ["a\nb", "a\u001b[8mb", "a\u0085b", "a\u202eb", "a\u2066b", "a\u2028b"])
      expect(() => checkChannelName(name)).toThrow("must not contain control or bidi characters");
  });
});
