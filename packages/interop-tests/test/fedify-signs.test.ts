import { type HttpMessageSignaturesSpec, type Rfc9421SignRequestOptions, signRequest } from "@fedify/fedify";
import { Create, Note } from "@fedify/vocab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeFetchToLocalPorts } from "./support/connect-to.js";
import { FakeHost } from "./support/fake-host.js";
import { type FedifyActor, serveFedifyActor } from "./support/fedify-actor.js";
import { fedifyRuns, NEEDS_NODE_22 } from "./support/node-version.js";
import { createUser, type OurProvider, type OurUser, startOurProvider, waitFor } from "./support/provider.js";

/**
 * Fedify signs, our inboxes verify. `fed@fedify.test` is an actor Fedify built and serialised, served by
 * a fake host our provider reaches through its development host mapping; every request is signed by
 * Fedify's `signRequest` and sent with the global fetch, routed to our provider `a.test`.
 */
describe.skipIf(!fedifyRuns)(`our inboxes accept requests Fedify signs (${NEEDS_NODE_22})`, () => {
  let fedifyHost: FakeHost;
  let ours: OurProvider;
  let fed: FedifyActor;
  let alice: OurUser;
  let bob: OurUser;
  let restoreFetch: () => Promise<void>;
  let counter = 0;

  beforeAll(async () => {
    fedifyHost = new FakeHost("fedify.test");
    await fedifyHost.listen();
    fed = await serveFedifyActor(fedifyHost, "fed");
    ours = await startOurProvider("a.test", new Map([["fedify.test", fedifyHost.port]]));
    restoreFetch = routeFetchToLocalPorts(new Map([["a.test", ours.port]]));
    alice = await createUser(ours, "alice");
    bob = await createUser(ours, "bob");
  });

  afterAll(async () => {
    await restoreFetch?.();
    await ours?.close();
    await fedifyHost?.close();
  });

  /** A Create{Note} from fed to `to`, built and serialised by Fedify. */
  async function fedifyActivity(to: OurUser): Promise<{ id: string; body: string }> {
    counter += 1;
    const id = new URL(`/activities/${counter}`, fedifyHost.origin);
    const activity = new Create({
      id,
      actor: fed.id,
      to: new URL(to.actor),
      object: new Note({
        id: new URL(`${id.href}/note`),
        attribution: fed.id,
        to: new URL(to.actor),
        content: `hello ${counter} from Fedify`,
      }),
    });
    return { id: id.href, body: JSON.stringify(await activity.toJsonLd()) };
  }

  async function signedPost(
    inbox: string,
    body: string,
    spec: HttpMessageSignaturesSpec,
    rfc9421?: Rfc9421SignRequestOptions,
  ): Promise<Request> {
    const request = new Request(inbox, {
      method: "POST",
      headers: { "content-type": "application/activity+json", accept: "application/activity+json" },
      body,
    });
    return await signRequest(request, fed.privateKey, fed.keyId, { spec, ...(rfc9421 ? { rfc9421 } : {}) });
  }

  async function mailboxIds(user: OurUser): Promise<string[]> {
    const res = await fetch(`${ours.local}/api/v1/mailbox`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: { activityId: string }[] }).items.map((item) => item.activityId);
  }

  async function reasonOf(res: Response): Promise<string | undefined> {
    return ((await res.json()) as { reason?: string }).reason;
  }

  const specs: { spec: HttpMessageSignaturesSpec; name: string; headers: string[] }[] = [
    { spec: "draft-cavage-http-signatures-12", name: "draft-cavage rsa-sha256", headers: ["signature"] },
    { spec: "rfc9421", name: "RFC 9421 rsa-v1_5-sha256", headers: ["signature-input", "signature"] },
  ];

  describe.each(specs)("$name", ({ spec, headers }) => {
    it("accepts a Create Fedify signed and hands it to the user's mailbox", async () => {
      const activity = await fedifyActivity(alice);
      const signed = await signedPost(`${ours.url}/users/alice/inbox`, activity.body, spec);
      for (const header of headers) expect(signed.headers.get(header)).toBeTruthy();
      if (spec === "rfc9421")
        expect(signed.headers.get("signature-input")).toContain(`keyid="${fed.keyId.href}"`);

      const res = await fetch(signed);
      expect(res.status, await res.clone().text()).toBe(202);
      await waitFor("the activity in alice's mailbox", async () =>
        (await mailboxIds(alice)).includes(activity.id) ? true : undefined,
      );
      // The key was fetched from the Fedify actor's own host.
      expect(fedifyHost.received.some((r) => r.method === "GET" && r.path === fed.id.pathname)).toBe(true);
    });

    it("accepts it at the shared inbox too", async () => {
      const activity = await fedifyActivity(bob);
      const res = await fetch(await signedPost(`${ours.url}/inbox`, activity.body, spec));
      expect(res.status, await res.clone().text()).toBe(202);
      await waitFor("the activity in bob's mailbox", async () =>
        (await mailboxIds(bob)).includes(activity.id) ? true : undefined,
      );
    });

    it("refuses the signed request with its body changed afterwards (401 digestMismatch)", async () => {
      const activity = await fedifyActivity(alice);
      const signed = await signedPost(`${ours.url}/users/alice/inbox`, activity.body, spec);
      const tampered = new Request(signed, { body: activity.body.replace("from Fedify", "from Mallory") });
      const res = await fetch(tampered);
      expect(res.status).toBe(401);
      expect(await reasonOf(res)).toBe("digestMismatch");
      expect(await mailboxIds(alice)).not.toContain(activity.id);
    });

    it("refuses the signed request replayed at another inbox (401 invalidSignature)", async () => {
      const activity = await fedifyActivity(alice);
      const signed = await signedPost(`${ours.url}/users/alice/inbox`, activity.body, spec);
      const moved = new Request(`${ours.url}/users/bob/inbox`, {
        method: "POST",
        headers: signed.headers,
        body: activity.body,
      });
      const res = await fetch(moved);
      expect(res.status).toBe(401);
      expect(await reasonOf(res)).toBe("invalidSignature");
      expect(await mailboxIds(bob)).not.toContain(activity.id);
    });
  });

  // What Fedify signs when it fulfils an RFC 9421 Accept-Signature challenge: its own label, signature
  // parameters, and a chosen component set (Fedify always adds content-digest for a body).
  const component = (value: string) => ({ value, params: {} });
  const rfc9421Variants: { name: string; options: Rfc9421SignRequestOptions; covers: string }[] = [
    { name: "another label", options: { label: "fedify" }, covers: "fedify=(" },
    {
      name: "expires, nonce and tag",
      options: { expires: true, nonce: "n-1", tag: "fedify" },
      covers: ';tag="fedify"',
    },
    {
      name: "only @method, @target-uri and the digest",
      options: { components: [component("@method"), component("@target-uri")] },
      covers: '("@method" "@target-uri" "content-digest")',
    },
    {
      name: "@path and @authority instead of @target-uri",
      options: {
        components: [
          component("@method"),
          component("@path"),
          component("@authority"),
          component("content-type"),
        ],
      },
      covers: '("@method" "@path" "@authority" "content-type" "content-digest")',
    },
  ];

  it.each(rfc9421Variants)("accepts RFC 9421 with $name", async ({ options, covers }) => {
    const activity = await fedifyActivity(alice);
    const signed = await signedPost(`${ours.url}/users/alice/inbox`, activity.body, "rfc9421", options);
    expect(signed.headers.get("signature-input")).toContain(covers);
    const res = await fetch(signed);
    expect(res.status, await res.clone().text()).toBe(202);
  });

  // RFC 9421 (section 2.1.1) lets a covered field carry the `sf` parameter (the field re-serialised
  // strictly as a structured field); Fedify signs `content-type;sf` when an Accept-Signature challenge
  // asks for it. Our verifier re-serialises the fields whose structured type it knows.
  it("accepts RFC 9421 covering a structured field with ;sf", async () => {
    const activity = await fedifyActivity(alice);
    const signed = await signedPost(`${ours.url}/users/alice/inbox`, activity.body, "rfc9421", {
      components: [
        component("@method"),
        component("@target-uri"),
        { value: "content-type", params: { sf: true } },
      ],
    });
    expect(signed.headers.get("signature-input")).toContain('"content-type";sf');
    const res = await fetch(signed);
    expect(res.status, await res.clone().text()).toBe(202);
  });
});
