import { describe, expect, it } from "vitest";
import { routeFor } from "../src/routes.js";

describe("routeFor", () => {
  it.each([
    ["GET", "/.well-known/webfinger?resource=acct:alice@a.test", "identity"],
    ["GET", "/.well-known/nodeinfo", "identity"],
    ["GET", "/nodeinfo/2.1", "identity"],
    ["GET", "/.well-known/mimi-configuration", "identity"],
    ["GET", "/actor", "identity"],
    ["GET", "/users/alice", "identity"],
    ["GET", "/@alice", "identity"],
    ["POST", "/api/v1/accounts", "identity"],
    ["POST", "/api/v1/tokens", "identity"],
    ["GET", "/api/v1/me", "identity"],
    ["POST", "/api/v1/clients", "identity"],
    ["POST", "/users/alice/inbox", "inbox-ingest"],
    ["POST", "/users/alice/outbox", "inbox-ingest"],
    ["POST", "/inbox", "inbox-ingest"],
    ["POST", "/channels/qhGQLWG0CdMI3fPJ2DyfQQ/inbox", "inbox-ingest"],
    ["GET", "/users/alice/keyPackages", "keypackage-directory"],
    ["POST", "/users/alice/keyPackages/claim", "keypackage-directory"],
    ["POST", "/api/v1/keypackages", "keypackage-directory"],
    ["GET", "/api/v1/keypackages/count", "keypackage-directory"],
    ["GET", "/channels/qhGQLWG0CdMI3fPJ2DyfQQ", "channel-sequencer"],
    ["GET", "/channels/qhGQLWG0CdMI3fPJ2DyfQQ/followers", "channel-sequencer"],
    ["GET", "/channels/qhGQLWG0CdMI3fPJ2DyfQQ/log?after=3", "channel-sequencer"],
    ["GET", "/api/v1/channels/followers?channel=x", "channel-sequencer"],
    ["GET", "/api/v1/mailbox?after=0", "delivery-fanout"],
    ["GET", "/api/v1/mailbox/stream", "delivery-fanout"],
    ["GET", "/users/alice/inbox", "delivery-fanout"],
    ["GET", "/users/alice/inbox/stream", "delivery-fanout"],
  ])("%s %s -> %s", (method, path, service) => {
    expect(routeFor(method, path)).toBe(service);
  });

  it.each([
    ["GET", "/metrics"],
    ["GET", "/healthz"],
    ["GET", "/readyz"],
    ["GET", "/inbox"],
    ["POST", "/channels/x"],
    ["GET", "/channels/x/inbox"],
    ["GET", "/users/alice/outbox/extra"],
    ["GET", "/api/v1/other"],
  ])("%s %s stays internal (no route)", (method, path) => {
    expect(routeFor(method, path)).toBeUndefined();
  });
});
