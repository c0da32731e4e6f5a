import { principalOf } from "@mimi/auth";
import {
  issueClientCertificate,
  loadDomainCa,
  readClientCertificate,
  verifyProofOfPossession,
} from "@mimi/credentials";
import { problems, validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import { findClient } from "../accounts.js";
import type { IdentityContext } from "../context.js";

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]+={0,2}$/, "must be base64");

const issueCredentialBody = z.object({
  challenge: z.string().min(1).max(200),
  /** Raw 32-byte Ed25519 MLS signature public key, base64. */
  signaturePublicKey: base64,
  /** Ed25519 signature over the proof-of-possession message (see @mimi/credentials), base64. */
  signature: base64,
});

/**
 * `POST /api/v1/clients/:clientId/credential` -> 201 `{ chain: [leaf, CA] (base64 DER), notAfter }`.
 * Issued only for the token's own client, with a fresh unused challenge and a valid proof of possession;
 * anything else is a 400 and consumes nothing but the challenge.
 */
export function issueCredential(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const client = await findClient(ctx.sql, username, String(req.params.clientId));
    const body = validate(issueCredentialBody, req.body);
    const signaturePublicKey = Buffer.from(body.signaturePublicKey, "base64");
    const signature = Buffer.from(body.signature, "base64");
    if (signaturePublicKey.length !== 32)
      throw problems.badRequest("signaturePublicKey must be a 32-byte Ed25519 key");

    // The challenge is consumed whatever the outcome, so a proof cannot be retried against it.
    const consumed = await ctx.sql.query<{ challenge: string }>(
      `delete from identity.credential_challenges
       where challenge = $1 and username = $2 and client_id = $3 and expires_at > now() returning challenge`,
      [body.challenge, username, client.id],
    );
    if (consumed.rowCount === 0) throw problems.badRequest("unknown, expired or already used challenge");

    const fields = {
      challenge: body.challenge,
      user: username,
      domain: ctx.urls.domain,
      clientId: client.id,
    };
    if (!verifyProofOfPossession({ ...fields, signaturePublicKey, signature })) {
      throw problems.badRequest("the proof of possession does not verify with this key");
    }
    const active = await ctx.authorities.active();
    const ca = await loadDomainCa(active);
    const issued = await issueClientCertificate(ca, {
      user: username,
      domain: ctx.urls.domain,
      clientId: client.id,
      signaturePublicKey,
    });
    const leaf = readClientCertificate(issued.certificateDer);
    if (!leaf.ok) throw new Error(`issued certificate does not parse: ${leaf.detail}`);
    const leafNotAfter = leaf.contents.certificate.notAfter;
    await ctx.sql.query(
      `insert into identity.issued_credentials (client_id, signature_public_key, certificate_der, ca_id, not_after)
       values ($1, $2, $3, $4, $5)`,
      [client.id, signaturePublicKey, issued.certificateDer, active.id, leafNotAfter],
    );
    ctx.logger.info({ username, clientId: client.id }, "credential issued");
    res.status(201).json({
      chain: issued.chainDer.map((der) => Buffer.from(der).toString("base64")),
      notAfter: leafNotAfter.toISOString(),
    });
  };
}
