/**
 * The subset of RFC 8941 Structured Field Values that HTTP Message Signatures need:
 * dictionaries whose members are items or inner lists, with parameters.
 */

export type BareItem =
  | { readonly type: "integer"; readonly value: number }
  | { readonly type: "decimal"; readonly value: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "token"; readonly value: string }
  | { readonly type: "bytes"; readonly value: Uint8Array }
  | { readonly type: "boolean"; readonly value: boolean };

export type Parameters = ReadonlyArray<readonly [string, BareItem]>;

export interface Item {
  readonly kind: "item";
  readonly value: BareItem;
  readonly params: Parameters;
}

export interface InnerList {
  readonly kind: "innerList";
  readonly items: readonly Item[];
  readonly params: Parameters;
}

export type DictionaryMember = Item | InnerList;
export type Dictionary = ReadonlyMap<string, DictionaryMember>;

export class StructuredFieldError extends Error {}

class Cursor {
  position = 0;
  constructor(readonly text: string) {}

  peek(): string {
    return this.text[this.position] ?? "";
  }

  done(): boolean {
    return this.position >= this.text.length;
  }

  skipSpaces(): void {
    while (this.peek() === " ") this.position++;
  }

  skipOws(): void {
    while (this.peek() === " " || this.peek() === "\t") this.position++;
  }

  fail(message: string): never {
    throw new StructuredFieldError(`${message} at position ${this.position}`);
  }
}

function parseKey(cursor: Cursor): string {
  const start = cursor.position;
  if (!/[a-z*]/.test(cursor.peek())) cursor.fail("key must start with a lowercase letter or *");
  while (/[a-z0-9_\-.*]/.test(cursor.peek()) && !cursor.done()) cursor.position++;
  return cursor.text.slice(start, cursor.position);
}

function parseNumber(cursor: Cursor): BareItem {
  const match = /^-?\d+(\.\d+)?/.exec(cursor.text.slice(cursor.position));
  if (!match) cursor.fail("expected a number");
  const [text, fraction] = match;
  if (fraction === undefined && text.replace("-", "").length > 15) cursor.fail("integer too long");
  cursor.position += text.length;
  return fraction === undefined
    ? { type: "integer", value: Number(text) }
    : { type: "decimal", value: Number(text) };
}

function parseString(cursor: Cursor): BareItem {
  cursor.position++; // opening quote
  let value = "";
  while (!cursor.done()) {
    const char = cursor.peek();
    cursor.position++;
    if (char === "\\") {
      const escaped = cursor.peek();
      if (escaped !== '"' && escaped !== "\\") cursor.fail("bad escape in string");
      value += escaped;
      cursor.position++;
    } else if (char === '"') {
      return { type: "string", value };
    } else {
      const code = char.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) cursor.fail("non-printable character in string");
      value += char;
    }
  }
  return cursor.fail("unterminated string");
}

function parseToken(cursor: Cursor): BareItem {
  const match = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(cursor.text.slice(cursor.position));
  if (!match) cursor.fail("expected a token");
  cursor.position += match[0].length;
  return { type: "token", value: match[0] };
}

function parseBytes(cursor: Cursor): BareItem {
  cursor.position++; // opening colon
  const end = cursor.text.indexOf(":", cursor.position);
  if (end === -1) cursor.fail("unterminated byte sequence");
  const encoded = cursor.text.slice(cursor.position, end);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) cursor.fail("invalid base64 in byte sequence");
  cursor.position = end + 1;
  return { type: "bytes", value: new Uint8Array(Buffer.from(encoded, "base64")) };
}

function parseBareItem(cursor: Cursor): BareItem {
  const char = cursor.peek();
  if (char === "-" || /\d/.test(char)) return parseNumber(cursor);
  if (char === '"') return parseString(cursor);
  if (char === ":") return parseBytes(cursor);
  if (char === "?") {
    cursor.position++;
    const flag = cursor.peek();
    if (flag !== "0" && flag !== "1") cursor.fail("bad boolean");
    cursor.position++;
    return { type: "boolean", value: flag === "1" };
  }
  if (/[A-Za-z*]/.test(char)) return parseToken(cursor);
  return cursor.fail("unexpected character");
}

function parseParameters(cursor: Cursor): Parameters {
  const params: [string, BareItem][] = [];
  while (cursor.peek() === ";") {
    cursor.position++;
    cursor.skipSpaces();
    const key = parseKey(cursor);
    let value: BareItem = { type: "boolean", value: true };
    if (cursor.peek() === "=") {
      cursor.position++;
      value = parseBareItem(cursor);
    }
    const existing = params.findIndex(([name]) => name === key);
    if (existing >= 0) params.splice(existing, 1);
    params.push([key, value]);
  }
  return params;
}

function parseItem(cursor: Cursor): Item {
  const value = parseBareItem(cursor);
  return { kind: "item", value, params: parseParameters(cursor) };
}

function parseInnerList(cursor: Cursor): InnerList {
  cursor.position++; // opening parenthesis
  const items: Item[] = [];
  while (!cursor.done()) {
    cursor.skipSpaces();
    if (cursor.peek() === ")") {
      cursor.position++;
      return { kind: "innerList", items, params: parseParameters(cursor) };
    }
    items.push(parseItem(cursor));
    const next = cursor.peek();
    if (next !== " " && next !== ")") cursor.fail("inner list items must be separated by spaces");
  }
  return cursor.fail("unterminated inner list");
}

/** Parses a Dictionary field value; throws StructuredFieldError when it is malformed. */
export function parseDictionary(text: string): Dictionary {
  const cursor = new Cursor(text);
  const members = new Map<string, DictionaryMember>();
  cursor.skipSpaces();
  while (!cursor.done()) {
    const key = parseKey(cursor);
    let member: DictionaryMember;
    if (cursor.peek() === "=") {
      cursor.position++;
      member = cursor.peek() === "(" ? parseInnerList(cursor) : parseItem(cursor);
    } else {
      member = { kind: "item", value: { type: "boolean", value: true }, params: parseParameters(cursor) };
    }
    members.delete(key);
    members.set(key, member);
    cursor.skipOws();
    if (cursor.done()) break;
    if (cursor.peek() !== ",") cursor.fail("expected a comma between members");
    cursor.position++;
    cursor.skipOws();
    if (cursor.done()) cursor.fail("trailing comma");
  }
  return members;
}

/** Parses an Item field value (RFC 8941 4.2); throws StructuredFieldError when it is malformed. */
export function parseItemField(text: string): Item {
  const cursor = new Cursor(text);
  cursor.skipSpaces();
  const item = parseItem(cursor);
  cursor.skipSpaces();
  if (!cursor.done()) cursor.fail("unexpected characters after the item");
  return item;
}

/** Parses a List field value (RFC 8941 4.2.1); throws StructuredFieldError when it is malformed. */
export function parseListField(text: string): DictionaryMember[] {
  const cursor = new Cursor(text);
  const members: DictionaryMember[] = [];
  cursor.skipSpaces();
  while (!cursor.done()) {
    members.push(cursor.peek() === "(" ? parseInnerList(cursor) : parseItem(cursor));
    cursor.skipOws();
    if (cursor.done()) break;
    if (cursor.peek() !== ",") cursor.fail("expected a comma between members");
    cursor.position++;
    cursor.skipOws();
    if (cursor.done()) cursor.fail("trailing comma");
  }
  return members;
}

function serializeMember(member: DictionaryMember): string {
  return member.kind === "innerList" ? serializeInnerList(member) : serializeItem(member);
}

export function serializeList(members: readonly DictionaryMember[]): string {
  return members.map(serializeMember).join(", ");
}

export function serializeDictionary(dictionary: Dictionary): string {
  return [...dictionary]
    .map(([key, member]) =>
      member.kind === "item" && member.value.type === "boolean" && member.value.value
        ? `${key}${serializeParameters(member.params)}`
        : `${key}=${serializeMember(member)}`,
    )
    .join(", ");
}

export function serializeBareItem(item: BareItem): string {
  switch (item.type) {
    case "integer":
      return String(item.value);
    case "decimal": {
      const text = String(Math.round(item.value * 1000) / 1000);
      return text.includes(".") ? text : `${text}.0`;
    }
    case "string":
      return `"${item.value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    case "token":
      return item.value;
    case "bytes":
      return `:${Buffer.from(item.value).toString("base64")}:`;
    case "boolean":
      return item.value ? "?1" : "?0";
  }
}

export function serializeParameters(params: Parameters): string {
  return params
    .map(([key, value]) =>
      value.type === "boolean" && value.value ? `;${key}` : `;${key}=${serializeBareItem(value)}`,
    )
    .join("");
}

export function serializeItem(item: Item): string {
  return `${serializeBareItem(item.value)}${serializeParameters(item.params)}`;
}

export function serializeInnerList(list: InnerList): string {
  return `(${list.items.map(serializeItem).join(" ")})${serializeParameters(list.params)}`;
}
