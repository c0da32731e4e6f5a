import { createHash } from "node:crypto";
import { TEXT_PLAIN } from "../src/content/mimi-content.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

/** A plaintext of the JSON profile earlier versions sent, with its id computed as they did. */
export function legacyPlaintext(fields: {
  senderUri: string;
  roomUri: string;
  content: string;
  timestamp?: number;
}) {
  const salt = "c2FsdHNhbHRzYWx0c2FsdA";
  const timestamp = fields.timestamp ?? 1_700_000_000_000;
  const bound = [fields.senderUri, fields.roomUri, salt, timestamp, TEXT_PLAIN, fields.content];
  const id = createHash("sha256").update(JSON.stringify(bound)).digest("base64url");
  const json = {
    mimiContent: 1,
    id,
    salt,
    senderUri: fields.senderUri,
    roomUri: fields.roomUri,
    timestamp,
    disposition: "render",
    language: "",
    contentType: TEXT_PLAIN,
    content: fields.content,
  };
  return { id, bytes: utf8(JSON.stringify(json)) };
}
