import { rateLimitRuleSchema, rateLimitStoreConfigSpec } from "@mimi/rate-limits";
import { parse } from "@mimi/service-kit";
import { z } from "zod";
import { blockedDomainListSchema } from "./domain/blocked-domains.js";

/** Identity's own settings, beside the provider-wide ones in @mimi/provider-config. */
export const identityConfigSpec = {
  openRegistrations: {
    env: "MIMI_OPEN_REGISTRATIONS",
    schema: parse.boolean(),
    default: "true",
    description: "whether anyone may create an account through the API",
  },
  reservedUsernames: {
    env: "MIMI_RESERVED_USERNAMES",
    schema: parse.list(),
    default: "",
    description:
      "names nobody may register, comma-separated, besides the built-in ones (admin, root, postmaster, abuse, security, support, ... and the instance actor's name)",
  },
  deletedNameQuarantineDays: {
    env: "MIMI_DELETED_NAME_QUARANTINE_DAYS",
    schema: parse.nonNegativeInt().max(3650, "must be at most 3650 (ten years)"),
    default: "30",
    description:
      "days a deleted account's actor and WebFinger answer 410 Gone and its name cannot be registered again; the name is purged and free after them",
  },
  sessionIdleDays: {
    env: "MIMI_SESSION_IDLE_DAYS",
    schema: parse.nonNegativeInt().max(3650, "must be at most 3650 (ten years)"),
    default: "30",
    description:
      "days a bearer token may go unused before every service refuses it (401 `sessionExpired`); each use moves the expiry forward; 0: sessions never expire",
  },
  ...rateLimitStoreConfigSpec,
  loginLimitPerAccount: {
    env: "MIMI_LOGIN_LIMIT_PER_ACCOUNT",
    schema: rateLimitRuleSchema(),
    default: "10/900",
    description:
      "failed logins per account and window, `POINTS/SECONDS` (0: no limit); beyond it every login of that account gets 429 until the window ends, and a successful one clears the count",
  },
  loginLimitPerAddress: {
    env: "MIMI_LOGIN_LIMIT_PER_ADDRESS",
    schema: rateLimitRuleSchema(),
    default: "100/300",
    description:
      "login attempts per client address and window (generous: many users may share one address behind NAT)",
  },
  signupLimitPerAddress: {
    env: "MIMI_SIGNUP_LIMIT_PER_ADDRESS",
    schema: rateLimitRuleSchema(),
    default: "20/3600",
    description: "account creations attempted per client address and window",
  },
  passwordHashConcurrency: {
    env: "MIMI_PASSWORD_HASH_CONCURRENCY",
    schema: parse.positiveInt(),
    default: "2",
    description:
      "password hashes (scrypt, 32 MiB each) computed at once; the rest wait in a queue fair between client addresses",
  },
  passwordHashQueue: {
    env: "MIMI_PASSWORD_HASH_QUEUE",
    schema: parse.nonNegativeInt(),
    default: "64",
    description: "logins and sign-ups waiting for a hash at most; beyond it they get 503 with Retry-After",
  },
  passwordHashQueuePerAddress: {
    env: "MIMI_PASSWORD_HASH_QUEUE_PER_ADDRESS",
    schema: parse.positiveInt(),
    default: "4",
    description:
      "logins and sign-ups of one client address hashing or waiting at once; beyond it they get 429 at once",
  },
  blockedDomains: {
    env: "MIMI_BLOCKED_DOMAINS",
    schema: blockedDomainListSchema(),
    default: "",
    description:
      "domains the provider refuses to federate with, comma-separated (subdomains included): nothing from them is accepted, nothing is sent to them, their users cannot claim or be claimed and cannot be added to channels; admins add more through the API",
  },
  adminUsers: {
    env: "MIMI_ADMIN_USERS",
    schema: parse.list().pipe(z.array(z.string().regex(/^[a-z0-9_]{1,30}$/, "must list local usernames"))),
    default: "",
    description:
      "local usernames whose sessions may use the admin API (domain blocks), comma-separated; empty: nobody",
  },
  userBlocksMax: {
    env: "MIMI_USER_BLOCKS_MAX",
    schema: parse.positiveInt().max(100_000, "must be at most 100000"),
    default: "1000",
    description:
      "users and domains one user may block; every service reads a user's whole list when it checks a sender against it",
  },
};
