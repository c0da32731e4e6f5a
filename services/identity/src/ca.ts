import { decryptSecret, encryptSecret } from "@mimi/actor-keys";
import { createDomainCa } from "@mimi/credentials";
import type { Sql } from "@mimi/store";
import { trustedIssuersPem } from "./reads.js";

export interface DomainCa {
  id: number;
  certificatePem: string;
  privateKeyPem: string;
}

export interface CertificateAuthorities {
  /** The CA that issues new credentials. */
  active(): Promise<DomainCa>;
  /** Every CA certificate still trusted (the active one and those retired during a rotation). */
  issuersPem(): Promise<string[]>;
  /** Starts a rotation: a new CA issues from now on; the old one stays published until retired. */
  rotate(): Promise<DomainCa>;
}

/**
 * The domain CA is generated on first start and persisted (private key sealed with the
 * key-encryption key). Several certificates can be published at once so the CA can rotate
 * without invalidating credentials issued under the previous one.
 */
const SELECT_NEWEST = `select id, certificate_pem, private_key_encrypted from identity.certificate_authorities
  where retired_at is null order by id desc limit 1`;

export function createCertificateAuthorities(sql: Sql, domain: string, kek: Buffer): CertificateAuthorities {
  let cachedActive: DomainCa | undefined;

  const sealContext = (id: number) => `identity-ca:${id}`;

  type CaRow = { id: number; certificate_pem: string; private_key_encrypted: Uint8Array };

  function open(row: CaRow): DomainCa {
    return {
      id: row.id,
      certificatePem: row.certificate_pem,
      privateKeyPem: decryptSecret(kek, row.private_key_encrypted, sealContext(row.id)).toString(),
    };
  }

  /** Inserts a freshly generated CA; with `onlyIfNone`, keeps an existing one instead (first start). */
  async function insert(onlyIfNone: boolean): Promise<DomainCa> {
    const generated = await createDomainCa(domain);
    return sql.transaction(async (tx) => {
      // Serialised so replicas starting together end up with a single CA.
      await tx.query("select pg_advisory_xact_lock(hashtext('mimi-identity-ca'))");
      if (onlyIfNone) {
        const existing = await tx.query<CaRow>(SELECT_NEWEST);
        if (existing.rows[0]) return open(existing.rows[0]);
      }
      const inserted = await tx.query<{ id: number }>(
        "select nextval(pg_get_serial_sequence('identity.certificate_authorities', 'id'))::int as id",
      );
      const id = inserted.rows[0]!.id;
      await tx.query(
        "insert into identity.certificate_authorities (id, certificate_pem, private_key_encrypted) values ($1, $2, $3)",
        [
          id,
          generated.certificatePem,
          encryptSecret(kek, Buffer.from(generated.privateKeyPem), sealContext(id)),
        ],
      );
      return { id, ...generated };
    });
  }

  return {
    async active() {
      if (!cachedActive) {
        const existing = await sql.query<CaRow>(SELECT_NEWEST);
        cachedActive = existing.rows[0] ? open(existing.rows[0]) : await insert(true);
      }
      return cachedActive;
    },
    issuersPem: () => trustedIssuersPem(sql),
    async rotate() {
      cachedActive = await insert(false);
      return cachedActive;
    },
  };
}
