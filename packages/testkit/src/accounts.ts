/** An account created through a provider's client API. */
export interface CreatedAccount {
  username: string;
  token: string;
  actor: string;
}

/** Creates `username` at the provider the test reaches at `local` (`domain` names it in errors). */
export async function createAccountAt(
  provider: { local: string; domain: string },
  username: string,
): Promise<CreatedAccount> {
  const res = await fetch(`${provider.local}/api/v1/accounts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: `${username} password` }),
  });
  if (res.status !== 201)
    throw new Error(`account ${username}@${provider.domain}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token: string; actor: string };
  return { username, token: body.token, actor: body.actor };
}

/**
 * POSTs a Create of a Note to `author`'s outbox at the provider the test reaches at `local`, addressed
 * to `to` (the activity's id is `id`, the note's `${id}/object`).
 */
export function postNote(
  local: string,
  author: { actor: string; token: string },
  note: { id: string; content: string; to: string[] },
): Promise<Response> {
  return fetch(`${local}${new URL(author.actor).pathname}/outbox`, {
    method: "POST",
    headers: { "content-type": "application/activity+json", authorization: `Bearer ${author.token}` },
    body: JSON.stringify({
      "@context": "https://www.w3.org/ns/activitystreams",
      id: note.id,
      type: "Create",
      actor: author.actor,
      object: {
        id: `${note.id}/object`,
        type: "Note",
        content: note.content,
        attributedTo: author.actor,
        to: note.to,
      },
      to: note.to,
    }),
  });
}
