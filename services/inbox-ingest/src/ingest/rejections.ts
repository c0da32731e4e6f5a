import { ProblemError, problems } from "@mimi/service-kit";

type RefusalStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 503;

interface RefusalRule {
  readonly status: RefusalStatus;
  readonly headers?: Readonly<Record<string, string>>;
}

const SIGNATURE_CHALLENGE = {
  "www-authenticate": 'Signature headers="(request-target) host date digest content-type"',
};
const signatureRefusal: RefusalRule = { status: 401, headers: SIGNATURE_CHALLENGE };
/** The failure may pass (a bus, a database, a remote collection): the sender retries, not a human. */
const retryAfter = (seconds: number): RefusalRule => ({
  status: 503,
  headers: { "retry-after": String(seconds) },
});

/**
 * Every refusal of the inboxes and the outbox, by its machine-readable `reason`: the status and the
 * headers it is answered with (docs/protocol.md, section 9.1; docs/trust-model.md). Peers and clients
 * act on these, so a reason keeps its status. 401 means the request does not make its sender the
 * actor's voice; 403 that the sender is known but may not say this here.
 */
const REFUSALS = {
  // reading: media type, size, JSON, envelope
  unsupportedMediaType: { status: 415 },
  unsupportedContentEncoding: { status: 415 },
  bodyTooLarge: { status: 413 },
  unreadableBody: { status: 400 },
  malformedJson: { status: 400 },
  invalidEnvelope: { status: 400 },
  // the HTTP signature (the verifier's reasons), answered with the challenge
  missingSignature: signatureRefusal,
  malformedSignature: signatureRefusal,
  unsupportedAlgorithm: signatureRefusal,
  missingDigest: signatureRefusal,
  digestMismatch: signatureRefusal,
  dateMissing: signatureRefusal,
  dateOutOfWindow: signatureRefusal,
  requestTargetNotSigned: signatureRefusal,
  keyFetchError: signatureRefusal,
  invalidSignature: signatureRefusal,
  // the inbox authorization rule (`authorizeInboxDelivery`)
  keyOwnerMismatch: { status: 401 },
  notForwardedByChannel: { status: 401 },
  notChannelMember: { status: 401 },
  channelMembershipUnknown: { status: 401 },
  activityIdOriginMismatch: { status: 403 },
  channelActivityNotFromChannel: { status: 403 },
  ambiguousTarget: { status: 400 },
  membershipCheckFailed: retryAfter(60),
  // the operator's and the recipients' blocks (a final refusal: the sender must not retry)
  domainBlocked: { status: 403 },
  // the outbox's bearer token and submission rule (`authorizeOutboxSubmission`)
  missingToken: { status: 401, headers: { "www-authenticate": 'Bearer realm="mimi"' } },
  invalidToken: {
    status: 401,
    headers: { "www-authenticate": 'Bearer realm="mimi", error="invalid_token"' },
  },
  sessionExpired: {
    status: 401,
    headers: { "www-authenticate": 'Bearer realm="mimi", error="invalid_token"' },
  },
  wrongUser: { status: 403 },
  actorMismatch: { status: 403 },
  activityIdNotLocal: { status: 400 },
  // routing: the addressee, the channel
  unknownInbox: { status: 404 },
  unknownChannel: { status: 404 },
  ambiguousChannel: { status: 400 },
  newChannelWithoutId: { status: 400 },
  channelNotLocal: { status: 400 },
  noAudience: { status: 400 },
  // what one request may cost (`MIMI_INBOX_MAX_*`) and the recipients' mailboxes
  tooManyAddresses: { status: 400 },
  tooManyRecipients: { status: 413 },
  mailboxFull: { status: 403 },
  channelLookupFailed: retryAfter(30),
  // a group DM's message against its group (docs/protocol.md section 14.9)
  dmMalformed: { status: 400 },
  dmNotADmGroup: { status: 403 },
  dmParticipantsUnverified: { status: 403 },
  dmSenderNotParticipant: { status: 403 },
  dmRecipientsMismatch: { status: 403 },
  dmWrongGroup: { status: 403 },
  dmEpochOutOfWindow: { status: 409 },
  dmEpochAhead: retryAfter(1),
  dmGroupLookupFailed: retryAfter(30),
  // publishing
  busUnavailable: retryAfter(30),
} as const satisfies Record<string, RefusalRule>;

/**
 * A refusal's reason. The verifier's, the authorization rules' and outbox routing's reasons are
 * handed to `refusal` as they are, so one of them without an entry above does not compile.
 */
export type RefusalReason = keyof typeof REFUSALS;

/** service-kit's helper per status: the title comes from there. */
const PROBLEM_OF_STATUS: Record<RefusalStatus, (detail: string) => ProblemError> = {
  400: problems.badRequest,
  401: problems.unauthorized,
  403: problems.forbidden,
  404: problems.notFound,
  409: problems.conflict,
  413: problems.payloadTooLarge,
  415: problems.unsupportedMediaType,
  503: problems.unavailable,
};

/** The status a reason is answered with. */
export function refusalStatus(reason: RefusalReason): RefusalStatus {
  return REFUSALS[reason].status;
}

/**
 * The problem+json answer for `reason`: service-kit's problem for its status, with the `reason`
 * member beside the human `detail`, `extra` members and the reason's headers.
 */
export function refusal(
  reason: RefusalReason,
  detail: string,
  extra: Readonly<Record<string, unknown>> = {},
): ProblemError {
  const rule: RefusalRule = REFUSALS[reason];
  const base = PROBLEM_OF_STATUS[rule.status](detail);
  return new ProblemError(
    base.status,
    base.title,
    base.detail,
    { ...base.extra, reason, ...extra },
    { ...base.headers, ...rule.headers },
  );
}

/** The reason of a refusal; `internalError` for anything else (what the router counts on failures). */
export function reasonOf(error: unknown): string {
  if (error instanceof ProblemError) {
    const reason = error.extra.reason;
    return typeof reason === "string" ? reason : `status${error.status}`;
  }
  return "internalError";
}
