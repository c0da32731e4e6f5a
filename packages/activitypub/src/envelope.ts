import { z } from "zod";

/**
 * The minimal shape every inbound activity must have before anything else looks at it:
 * an absolute `id`, a `type`, and an `actor` (a URI, or an object with an `id`).
 * Everything else is checked by the service that handles that type.
 */
const absoluteUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:";
    } catch {
      return false;
    }
  }, "must be an absolute http(s) URL");

const reference = z.union([absoluteUrl, z.object({ id: absoluteUrl }).passthrough()]);
const audience = z.union([z.string(), z.array(z.string()).max(1000)]).optional();

export const activityEnvelopeSchema = z
  .object({
    id: absoluteUrl,
    type: z.string().min(1).max(64),
    actor: reference,
    to: audience,
    cc: audience,
  })
  .passthrough();

export type ActivityEnvelope = z.infer<typeof activityEnvelopeSchema>;

/** The actor's URI whether the activity names it as a string or embeds the object. */
export function actorIdOf(activity: Pick<ActivityEnvelope, "actor">): string {
  return typeof activity.actor === "string" ? activity.actor : activity.actor.id;
}

/** `to` and `cc` as one de-duplicated list. */
export function audienceOf(activity: {
  to?: string | string[] | undefined;
  cc?: string | string[] | undefined;
}): string[] {
  const list = (value: string | string[] | undefined) =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  return [...new Set([...list(activity.to), ...list(activity.cc)])];
}

export const PUBLIC_COLLECTION = "https://www.w3.org/ns/activitystreams#Public";
