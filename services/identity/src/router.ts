import { requireBearer } from "@mimi/auth";
import { clientAddress, rateLimit } from "@mimi/rate-limits";
import { jsonBody } from "@mimi/service-kit";
import { Router } from "express";
import type { IdentityContext } from "./context.js";
import { actor, profile } from "./routes/actor.js";
import {
  addBlockedDomain,
  listBlockedDomains,
  removeBlockedDomain,
  requireAdmin,
} from "./routes/admin-blocks.js";
import { changePassword } from "./routes/change-password.js";
import { acceptInvite, declineInvite, getConsent, listInvites, setConsent } from "./routes/consent.js";
import { createAccount } from "./routes/create-account.js";
import { createClient, listOwnClients } from "./routes/create-client.js";
import { createToken } from "./routes/create-token.js";
import { credentialChallenge } from "./routes/credential-challenge.js";
import { deleteAccount } from "./routes/delete-account.js";
import { deleteClient } from "./routes/delete-client.js";
import { instanceActor } from "./routes/instance-actor.js";
import { issueCredential } from "./routes/issue-credential.js";
import { me } from "./routes/me.js";
import { mimiConfiguration } from "./routes/mimi-configuration.js";
import { nodeInfo, nodeInfoLinks } from "./routes/nodeinfo.js";
import { listSessions, logOut, logOutEverywhere, revokeSession } from "./routes/sessions.js";
import { addUserBlock, listUserBlocks, removeUserBlock } from "./routes/user-blocks.js";
import { webfinger } from "./routes/webfinger.js";

/** Identity's public surface: discovery, actor documents, and the account/token/client API. */
export function identityRouter(ctx: IdentityContext): Router {
  const router = Router();
  const json = jsonBody({ limit: "16kb" });
  const auth = requireBearer(ctx.tokens);

  router.get("/.well-known/webfinger", webfinger(ctx));
  router.get("/.well-known/nodeinfo", nodeInfoLinks(ctx));
  router.get("/nodeinfo/2.1", nodeInfo(ctx));
  router.get("/.well-known/mimi-configuration", mimiConfiguration(ctx));
  router.get("/actor", instanceActor(ctx));
  router.get("/users/:username", actor(ctx));
  router.get("/@:username", profile(ctx));

  router.post(
    "/api/v1/accounts",
    rateLimit(ctx.limits.signupPerAddress, clientAddress, "too many sign-ups from this address; retry later"),
    ...json,
    createAccount(ctx),
  );
  router.post("/api/v1/tokens", ...json, createToken(ctx));
  router.get("/api/v1/tokens", auth, listSessions(ctx));
  router.delete("/api/v1/tokens", auth, logOutEverywhere(ctx));
  router.delete("/api/v1/tokens/current", auth, logOut(ctx));
  router.delete("/api/v1/tokens/:id", auth, revokeSession(ctx));
  router.get("/api/v1/me", auth, me(ctx));
  router.post("/api/v1/me/password", auth, ...json, changePassword(ctx));
  router.post("/api/v1/me/delete", auth, ...json, deleteAccount(ctx));
  router.post("/api/v1/clients", auth, ...json, createClient(ctx));
  router.get("/api/v1/clients", auth, listOwnClients(ctx));
  router.delete("/api/v1/clients/:clientId", auth, deleteClient(ctx));
  router.post("/api/v1/clients/:clientId/credential/challenge", auth, credentialChallenge(ctx));
  router.post("/api/v1/clients/:clientId/credential", auth, ...json, issueCredential(ctx));
  router.get("/api/v1/me/blocks", auth, listUserBlocks(ctx));
  router.put("/api/v1/me/blocks/:target", auth, addUserBlock(ctx));
  router.delete("/api/v1/me/blocks/:target", auth, removeUserBlock(ctx));
  router.get("/api/v1/me/consent", auth, getConsent(ctx));
  router.put("/api/v1/me/consent", auth, ...json, setConsent(ctx));
  router.get("/api/v1/me/invites", auth, listInvites(ctx));
  router.post("/api/v1/me/invites/accept", auth, ...json, acceptInvite(ctx));
  router.post("/api/v1/me/invites/decline", auth, ...json, declineInvite(ctx));
  const admin = requireAdmin(ctx);
  router.get("/api/v1/admin/blocked-domains", auth, admin, listBlockedDomains(ctx));
  router.put("/api/v1/admin/blocked-domains/:domain", auth, admin, addBlockedDomain(ctx));
  router.delete("/api/v1/admin/blocked-domains/:domain", auth, admin, removeBlockedDomain(ctx));
  return router;
}
