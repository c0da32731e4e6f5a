import { type ActivityEnvelope, activityEnvelopeSchema } from "@mimi/activitypub";

export type ActivityParse =
  | { readonly ok: true; readonly activity: ActivityEnvelope }
  | {
      readonly ok: false;
      readonly reason: "malformedJson" | "invalidEnvelope";
      readonly detail: string;
      readonly issues?: ReadonlyArray<{ path: string; message: string }>;
    };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Body bytes -> the activity envelope (`id`, `type`, `actor` present and well-formed), or why not. */
export function parseActivityBody(body: Uint8Array): ActivityParse {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    return { ok: false, reason: "malformedJson", detail: "the body is not UTF-8 JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "invalidEnvelope", detail: "the body is not a JSON object" };
  }
  const parsed = activityEnvelopeSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.message,
    }));
    const first = issues[0];
    return {
      ok: false,
      reason: "invalidEnvelope",
      detail: first ? `${first.path || "activity"}: ${first.message}` : "not an activity",
      issues,
    };
  }
  return { ok: true, activity: parsed.data };
}
