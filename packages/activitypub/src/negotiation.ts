/**
 * Content negotiation as Mastodon does it: ActivityPub clients ask for `application/activity+json`
 * or `application/ld+json; profile="https://www.w3.org/ns/activitystreams"` and get JSON; anything
 * else (a browser) may get a small HTML page.
 */
export function wantsActivityJson(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .some(
      (part) =>
        part.startsWith("application/activity+json") ||
        part.startsWith("application/ld+json") ||
        part.startsWith("application/json"),
    );
}

/** True for the request media types an inbox accepts. */
export function isActivityContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(";").map((p) => p.trim().toLowerCase());
  if (type === "application/activity+json") return true;
  if (type !== "application/ld+json") return false;
  // ld+json is only an activity when it names the ActivityStreams profile.
  return params.some((p) => p.replace(/\s/g, "") === 'profile="https://www.w3.org/ns/activitystreams"');
}
