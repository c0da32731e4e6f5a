/**
 * What a member asks of a channel, read from the activity (docs/channels.md, Addressing). Only the
 * shape is checked here; MLS contents and membership are checked by the sequencer.
 */
export type Submission =
  | {
      readonly kind: "create";
      readonly objectId: string | undefined;
      readonly name: unknown;
      readonly groupInfo: unknown;
      /** Create{Service} with a first commit (the draft allows it); this server asks for a separate Add. */
      readonly carriesCommit: boolean;
      /** Present when the Service has a `mimi:kind` (a group DM's is "dm", section 14 of protocol.md). */
      readonly dm?: {
        readonly kind: unknown;
        readonly participants: unknown;
        readonly conversation: unknown;
      };
    }
  | { readonly kind: "message"; readonly message: unknown }
  | {
      readonly kind: "add" | "remove";
      readonly object: string | undefined;
      readonly commit: unknown;
      readonly welcome: unknown;
      readonly groupInfo: unknown;
    }
  | { readonly kind: "rename"; readonly objectId: string | undefined; readonly name: unknown }
  /** Update{mimi:Role}: gives `member` the role `role` (checked by the sequencer). */
  | { readonly kind: "role"; readonly member: string | undefined; readonly role: unknown }
  /**
   * Update{mimi:KeyUpdate}: a commit refreshing the submitter's own leaf; `member` is the actor the
   * object names (`mimi:member`), which must be the submitter.
   */
  | {
      readonly kind: "keyUpdate";
      readonly member: string | undefined;
      readonly commit: unknown;
      readonly groupInfo: unknown;
    }
  /** Leave{object: C}: the submitter leaves the channel; `object` must be the channel. */
  | { readonly kind: "leave"; readonly object: string | undefined }
  /**
   * Delete{object: actor}: the actor's account is gone (a departure); `target` as received, which must
   * be absent.
   */
  | {
      readonly kind: "accountDeleted";
      readonly object: string | undefined;
      readonly target: string | undefined;
    }
  /**
   * Add{mimi:Device} (an external commit: the submitter's new device joins) and Remove{mimi:Device}
   * (the submitter takes their own other devices out); `member` is the object's `mimi:member`.
   */
  | {
      readonly kind: "deviceJoin" | "deviceRemove";
      readonly member: string | undefined;
      readonly commit: unknown;
      readonly groupInfo: unknown;
    }
  | { readonly kind: "unsupported"; readonly description: string };

export type SubmissionKind = Submission["kind"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A reference's id: the string itself or an embedded object's `id`. */
export function referenceId(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (isRecord(value) && typeof value.id === "string") return value.id;
  return undefined;
}

export function readSubmission(activity: Readonly<Record<string, unknown>>): Submission {
  const object = activity.object;
  const objectType = isRecord(object) ? object.type : undefined;
  switch (activity.type) {
    case "Create":
      if (objectType === "Service" && isRecord(object)) {
        return {
          kind: "create",
          objectId: referenceId(object),
          name: object.name,
          groupInfo: activity["mimi:groupInfo"],
          carriesCommit: activity["mimi:commit"] !== undefined || activity["mimi:welcome"] !== undefined,
          ...(object["mimi:kind"] === undefined
            ? {}
            : {
                dm: {
                  kind: object["mimi:kind"],
                  participants: object["mimi:participants"],
                  conversation: object["mimi:conversation"],
                },
              }),
        };
      }
      if (objectType === "PrivateMessage") return { kind: "message", message: object };
      return { kind: "unsupported", description: `Create of ${describeType(objectType)}` };
    case "Add":
    case "Remove":
      if (objectType === "mimi:Device" && isRecord(object)) {
        return {
          kind: activity.type === "Add" ? "deviceJoin" : "deviceRemove",
          member: referenceId(object["mimi:member"]),
          commit: activity["mimi:commit"],
          groupInfo: activity["mimi:groupInfo"],
        };
      }
      return {
        kind: activity.type === "Add" ? "add" : "remove",
        object: referenceId(object),
        commit: activity["mimi:commit"],
        welcome: activity["mimi:welcome"],
        groupInfo: activity["mimi:groupInfo"],
      };
    case "Update":
      if (objectType === "Service" && isRecord(object)) {
        return { kind: "rename", objectId: referenceId(object), name: object.name };
      }
      if (objectType === "mimi:Role" && isRecord(object)) {
        return { kind: "role", member: referenceId(object["mimi:member"]), role: object["mimi:role"] };
      }
      if (objectType === "mimi:KeyUpdate" && isRecord(object)) {
        return {
          kind: "keyUpdate",
          member: referenceId(object["mimi:member"]),
          commit: activity["mimi:commit"],
          groupInfo: activity["mimi:groupInfo"],
        };
      }
      return { kind: "unsupported", description: `Update of ${describeType(objectType)}` };
    case "Leave":
      return { kind: "leave", object: referenceId(object) };
    case "Delete":
      return {
        kind: "accountDeleted",
        object: referenceId(object),
        target: activity.target === undefined ? undefined : (referenceId(activity.target) ?? "(malformed)"),
      };
    default:
      return { kind: "unsupported", description: `activity type ${String(activity.type)}` };
  }
}

function describeType(type: unknown): string {
  return typeof type === "string" ? type : "an object without a type";
}
