import type { Federation, HttpMessageSignaturesSpec } from "@fedify/fedify";
import { Create, isActor, Note, PUBLIC_COLLECTION } from "@fedify/vocab";
import { postNote } from "@mimi/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeFetchToLocalPorts } from "./support/connect-to.js";
import { FedifyServer } from "./support/fedify-server.js";
import { RecordingFront } from "./support/front.js";
import { fedifyRuns, NEEDS_NODE_22 } from "./support/node-version.js";
import { createUser, type OurProvider, type OurUser, startOurProvider, waitFor } from "./support/provider.js";

/**
 * A server built on Fedify's `Federation` and our provider exchange activities the way each sends them
 * in production: Fedify's `sendActivity` (its own activity JSON, Object Integrity Proof and Linked Data
 * signature, and "double-knock" HTTP signatures), and our deliveries through Fedify's inbox, which
 * verifies the HTTP signature and that the activity's actor owns the key before a listener sees it.
 */
describe.skipIf(!fedifyRuns)(
  `a Fedify server and our provider exchange activities (${NEEDS_NODE_22})`,
  () => {
    let fedify: FedifyServer;
    let served: Federation<void>;
    let ours: OurProvider;
    let front: RecordingFront;
    let alice: OurUser;
    let restoreFetch: () => Promise<void>;
    let counter = 0;

    beforeAll(async () => {
      fedify = await FedifyServer.create();
      served = fedify.federation("rfc9421");
      await fedify.listen(served);
      ours = await startOurProvider("a.test", new Map([[fedify.host, fedify.port]]));
      front = new RecordingFront(ours.port);
      await front.listen();
      restoreFetch = routeFetchToLocalPorts(new Map([["a.test", front.port]]));
      alice = await createUser(ours, "alice");
    });

    afterAll(async () => {
      await restoreFetch?.();
      await front?.close();
      await ours?.close();
      await fedify?.close();
    });

    async function mailboxIds(): Promise<string[]> {
      const res = await fetch(`${ours.local}/api/v1/mailbox`, {
        headers: { authorization: `Bearer ${alice.token}` },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: { activityId: string }[] }).items.map((item) => item.activityId);
    }

    async function sendWithFirstKnock(
      firstKnock: HttpMessageSignaturesSpec,
      options: { preferSharedInbox?: true; toPublic?: true } = {},
    ): Promise<string> {
      const federation = fedify.federation(firstKnock);
      const ctx = federation.createContext(new URL(fedify.origin), undefined);
      // Fedify finds alice the way it finds anyone: WebFinger, then her actor document.
      const recipient = await ctx.lookupObject("acct:alice@a.test");
      expect(recipient && isActor(recipient)).toBe(true);
      if (!recipient || !isActor(recipient)) throw new Error("alice did not resolve to an actor");
      counter += 1;
      const id = new URL(`/activities/${counter}`, fedify.origin);
      const actor = ctx.getActorUri("fed");
      // To alice, or (a public post mentioning her) to the public collection with alice in cc.
      const audience = options.toPublic ? { to: PUBLIC_COLLECTION, cc: recipient.id } : { to: recipient.id };
      await ctx.sendActivity(
        { identifier: "fed" },
        recipient,
        new Create({
          id,
          actor,
          ...audience,
          object: new Note({
            id: new URL(`${id.href}/note`),
            attribution: actor,
            ...audience,
            content: "hi",
          }),
        }),
        { immediate: true, ...(options.preferSharedInbox ? { preferSharedInbox: true } : {}) },
      );
      return id.href;
    }

    it("Fedify's sendActivity, knocking first with RFC 9421, is accepted at once", async () => {
      const postsBefore = front.posts().length;
      const id = await sendWithFirstKnock("rfc9421");
      const posts = front.posts().slice(postsBefore);
      expect(posts.map((p) => p.status)).toEqual([202]);
      // Fedify's body as sent: its own @context list and an eddsa-jcs-2022 Object Integrity Proof.
      expect(JSON.parse(posts[0]?.body.toString("utf8") ?? "{}")).toMatchObject({
        id,
        proof: { cryptosuite: "eddsa-jcs-2022" },
      });
      expect(posts[0]?.headers["signature-input"]).toContain(`keyid="${fedify.origin}/users/fed#main-key"`);
      await waitFor("the activity in alice's mailbox", async () =>
        (await mailboxIds()).includes(id) ? true : undefined,
      );
    });

    it("Fedify's sendActivity, knocking first with draft-cavage, is accepted at once", async () => {
      const postsBefore = front.posts().length;
      const id = await sendWithFirstKnock("draft-cavage-http-signatures-12");
      const posts = front.posts().slice(postsBefore);
      expect(posts.map((p) => p.status)).toEqual([202]);
      // Fedify's body as sent: its own @context list and an eddsa-jcs-2022 Object Integrity Proof.
      expect(JSON.parse(posts[0]?.body.toString("utf8") ?? "{}")).toMatchObject({
        id,
        proof: { cryptosuite: "eddsa-jcs-2022" },
      });
      expect(posts[0]?.headers.signature).toContain(`keyId="${fedify.origin}/users/fed#main-key"`);
      expect(posts[0]?.headers["signature-input"]).toBeUndefined();
      await waitFor("the activity in alice's mailbox", async () =>
        (await mailboxIds()).includes(id) ? true : undefined,
      );
    });

    it("a public Create Fedify sends to our shared inbox reaches alice, named in cc", async () => {
      const postsBefore = front.posts().length;
      const id = await sendWithFirstKnock("rfc9421", { preferSharedInbox: true, toPublic: true });
      const posts = front.posts().slice(postsBefore);
      expect(posts.map((p) => [p.path, p.status])).toEqual([["/inbox", 202]]);
      expect(JSON.parse(posts[0]?.body.toString("utf8") ?? "{}")).toMatchObject({
        to: PUBLIC_COLLECTION.href,
      });
      await waitFor("the activity in alice's mailbox", async () =>
        (await mailboxIds()).includes(id) ? true : undefined,
      );
    });

    it("Fedify serves its actor only to signed GETs, and our provider's key fetches passed", async () => {
      const unsigned = await fetch(`http://127.0.0.1:${fedify.port}/users/fed`, {
        headers: { accept: "application/activity+json" },
      });
      expect(unsigned.status).toBe(401);
      expect(fedify.actorFetchedBy).toContain(`${ours.url}/actor`);
    });

    it("our delivery passes Fedify's inbox: signature verified, alice owns the key, the listener runs", async () => {
      const fed = `${fedify.origin}/users/fed`;
      const id = `${alice.actor}/activities/${Date.now()}`;
      const res = await postNote(ours.local, alice, { id, content: "hi fed", to: [fed] });
      expect(res.status, await res.clone().text()).toBe(202);
      const accepted = await waitFor("the Create in Fedify's inbox listener", async () =>
        fedify.accepted.find((activity) => activity.id?.href === id),
      );
      expect(accepted.actorId?.href).toBe(alice.actor);
    });
  },
);
