import { principalOf } from "@mimi/auth";
import { clientBelongsTo } from "@mimi/identity/reads";
import { problems, validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import { publishToClaimStore } from "../claim-engine.js";
import type { KeyPackageDirectoryContext } from "../context.js";
import { claimDepsOf } from "../context.js";
import { checkUploadedKeyPackage, type UploadExpectations } from "../domain/upload-check.js";
import { type NewKeyPackage, storeUpload } from "../keypackage-rows.js";

/** Largest accepted KeyPackage, base64 (an x509 chain of a few certificates plus keys fits easily). */
const MAX_KEY_PACKAGE_BASE64 = 16 * 1024;

const base64 = z
  .string()
  .min(1)
  .max(MAX_KEY_PACKAGE_BASE64)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64");

function uploadBody(batchLimit: number) {
  return z
    .object({
      clientId: z.string().min(1).max(128),
      keyPackages: z
        .array(base64)
        .max(batchLimit, `at most ${batchLimit} KeyPackages per request`)
        .default([]),
      lastResort: base64.optional(),
    })
    .refine((body) => body.keyPackages.length > 0 || body.lastResort !== undefined, {
      message: "nothing to upload: give keyPackages and/or lastResort",
    });
}

/** The JSON body limit that fits a full batch. */
export function uploadBodyLimit(batchLimit: number): number {
  return (batchLimit + 1) * (MAX_KEY_PACKAGE_BASE64 + 64) + 1024;
}

interface Rejection {
  index: number | "lastResort";
  reason: string;
  detail: string;
}

/**
 * `POST /api/v1/keypackages {clientId, keyPackages: [base64], lastResort?: base64}` -> 201.
 * Every KeyPackage is checked before anything is stored; one bad KeyPackage rejects the whole
 * upload with 400 naming its index and reason. Re-uploading stored bytes changes nothing.
 */
export function uploadKeyPackages(ctx: KeyPackageDirectoryContext): RequestHandler {
  const schema = uploadBody(ctx.settings.uploadBatchLimit);
  return async (req, res) => {
    const { username } = principalOf(res);
    const body = validate(schema, req.body);
    if (!(await clientBelongsTo(ctx.sql, username, body.clientId))) {
      throw problems.notFound(`no client ${body.clientId} for this account`);
    }
    const now = ctx.now();
    const expectations: UploadExpectations = {
      domain: ctx.urls.domain,
      user: username,
      clientId: body.clientId,
      supportedCiphersuites: ctx.settings.ciphersuites,
      maxLifetimeSeconds: ctx.settings.maxLifetimeDays * 86_400,
      clockSkewSeconds: ctx.settings.clockSkewSeconds,
      now,
      issuersFor: ctx.issuersFor,
      validate: ctx.validate,
    };
    const decode = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
    const poolBytes = body.keyPackages.map(decode);
    const lastResortBytes = body.lastResort === undefined ? undefined : decode(body.lastResort);
    const [poolChecks, lastResortCheck] = await Promise.all([
      Promise.all(poolBytes.map((bytes) => checkUploadedKeyPackage(bytes, "pool", expectations))),
      lastResortBytes ? checkUploadedKeyPackage(lastResortBytes, "lastResort", expectations) : undefined,
    ]);

    const rejections: Rejection[] = [];
    const accepted: NewKeyPackage[] = [];
    const seen = new Set<string>();
    poolChecks.forEach((check, index) => {
      if (!check.ok) {
        rejections.push({ index, reason: check.reason, detail: check.detail });
      } else if (seen.has(check.id)) {
        rejections.push({ index, reason: "duplicate", detail: "the same KeyPackage appears twice" });
      } else {
        seen.add(check.id);
        accepted.push({ ...check, content: poolBytes[index] ?? new Uint8Array() });
      }
    });
    let lastResort: NewKeyPackage | undefined;
    if (lastResortCheck && lastResortBytes) {
      if (lastResortCheck.ok) lastResort = { ...lastResortCheck, content: lastResortBytes };
      else rejections.push({ index: "lastResort", ...lastResortCheck });
    }
    const first = rejections[0];
    if (first) {
      ctx.logger.info({ username, clientId: body.clientId, rejected: rejections.length }, "upload refused");
      throw problems.badRequest(
        `KeyPackage ${first.index} refused (${first.reason}): ${first.detail}; nothing was stored`,
        { index: first.index, reason: first.reason, rejected: rejections.slice(0, 20) },
      );
    }

    const stored = await storeUpload(ctx.sql, {
      username,
      clientId: body.clientId,
      keyPackages: accepted,
      ...(lastResort ? { lastResort } : {}),
      maxStoredPerClient: ctx.settings.maxStoredPerClient,
      now,
    });
    if (!stored.ok) throw problems.conflict(stored.detail, { reason: stored.reason });
    try {
      await publishToClaimStore(claimDepsOf(ctx), { username, clientId: body.clientId }, stored);
    } catch (error) {
      // SQL has them: the next claim of that pool (or the next start) rebuilds it from SQL.
      ctx.logger.warn({ err: error, username, clientId: body.clientId }, "claim store update failed");
    }
    ctx.logger.info(
      {
        username,
        clientId: body.clientId,
        stored: stored.inserted.length,
        alreadyStored: stored.alreadyStored,
      },
      "keypackages uploaded",
    );
    res.status(201).json({
      clientId: body.clientId,
      stored: stored.inserted.length,
      alreadyStored: stored.alreadyStored,
    });
  };
}
