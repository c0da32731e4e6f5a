import { randomBytes } from "node:crypto";
import { principalOf } from "@mimi/auth";
import { problems, validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import { listClients } from "../accounts.js";
import type { IdentityContext } from "../context.js";

const MAX_CLIENTS_PER_USER = 20;

const createClientBody = z.object({ name: z.string().trim().min(1).max(64) });

/** `POST /api/v1/clients {name}` -> 201: registers one of the user's devices. */
export function createClient(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const body = validate(createClientBody, req.body);
    const existing = await listClients(ctx.sql, username);
    if (existing.length >= MAX_CLIENTS_PER_USER) {
      throw problems.forbidden(`a user may register at most ${MAX_CLIENTS_PER_USER} clients`);
    }
    // Client ids are random so they reveal nothing about the device and cannot be guessed.
    const id = randomBytes(12).toString("base64url");
    await ctx.sql.query("insert into identity.clients (id, username, name) values ($1, $2, $3)", [
      id,
      username,
      body.name,
    ]);
    res.status(201).json({ id, name: body.name, username });
  };
}

/** `GET /api/v1/clients`. */
export function listOwnClients(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const { username } = principalOf(res);
    const clients = await listClients(ctx.sql, username);
    res.json({
      items: clients.map((c) => ({ id: c.id, name: c.name, createdAt: c.created_at.toISOString() })),
    });
  };
}
