import type { MigrationSet } from "@mimi/store";

/**
 * KeyPackages are durable here; the claim store (Redis or memory) only mirrors which ids can still be
 * handed out. `claimed_at` is the final word on single use: a row is served only by the one update
 * that sets it. Claimed rows stay (without being served again) so a re-upload of the same bytes is
 * recognised and never makes a used KeyPackage available again.
 */
export const keyPackageDirectoryMigrations: MigrationSet = {
  schema: "keypackages",
  migrations: [
    {
      version: 1,
      name: "key_packages",
      sql: `
        create table keypackages.key_packages (
          id text primary key,
          seq bigserial not null,
          username text not null,
          client_id text not null,
          ciphersuite integer not null,
          last_resort boolean not null,
          content bytea not null,
          not_after timestamptz not null,
          uploaded_at timestamptz not null default now(),
          claimed_at timestamptz,
          claimed_by text
        );
        create index key_packages_unclaimed on keypackages.key_packages(username, client_id, ciphersuite, seq)
          where claimed_at is null;
        create unique index key_packages_one_last_resort on keypackages.key_packages(client_id)
          where last_resort;
      `,
    },
    {
      version: 2,
      name: "confirm_claims",
      // The statement behind every claim (keypackage-rows.ts, confirmPicks), as a function so that its
      // plan is made once per connection: planning its joins costs PostgreSQL several times what
      // running them does. Its arguments are arrays whose lengths vary with every call, which keeps
      // PostgreSQL's own choice on fresh plans; the generic plan is as good for every batch size.
      sql: `
        create function keypackages.confirm_claims(
          usernames text[], requesters text[],
          pick_requests int[], pick_clients text[], pick_ids text[], pick_suites int[], pick_last_resorts bool[],
          preferred_picks int[], preferred_suites int[], claim_time timestamptz
        ) returns table (
          request bigint, account_found boolean, client_id text, claimed_content bytea, expired boolean,
          last_resort_content bytea, store_behind boolean
        )
        language plpgsql
        set plan_cache_mode = force_generic_plan
        as $fn$
        #variable_conflict use_column
        begin
          return query
          with req as (
            select * from unnest(usernames, requesters) with ordinality as r(username, requester, request)
          ),
          pick as (
            select * from unnest(pick_requests, pick_clients, pick_ids, pick_suites, pick_last_resorts)
              with ordinality as p(request, client_id, id, ciphersuite, last_resort, pick)
          ),
          preferred as (select * from unnest(preferred_picks, preferred_suites) as pr(pick, ciphersuite)),
          served as (
            update keypackages.key_packages kp set claimed_at = claim_time, claimed_by = r.requester
            from pick p join req r on r.request = p.request
            where not p.last_resort and kp.id = p.id and kp.username = r.username
              and kp.client_id = p.client_id and kp.ciphersuite = p.ciphersuite and not kp.last_resort
              and kp.claimed_at is null
              and exists (select 1 from identity.clients c where c.id = p.client_id and c.username = r.username)
            returning p.pick, kp.content, kp.not_after
          )
          select r.request, a.username is not null, c.id, s.content, s.not_after <= claim_time, lr.content,
            exists (
              select 1 from preferred pr join keypackages.key_packages w
                on w.username = r.username and w.client_id = c.id and w.ciphersuite = pr.ciphersuite
              where pr.pick = p.pick and w.claimed_at is null and not w.last_resort and w.not_after > claim_time
            )
          from req r
          left join identity.accounts a on a.username = r.username
          left join identity.clients c on c.username = a.username
          left join pick p on p.request = r.request and p.client_id = c.id
          left join served s on s.pick = p.pick
          left join keypackages.key_packages lr on p.last_resort and lr.id = p.id
            and lr.username = r.username and lr.client_id = c.id and lr.ciphersuite = p.ciphersuite
            and lr.last_resort and lr.not_after > claim_time
          order by r.request, c.created_at, c.id;
        end
        $fn$;
      `,
    },
  ],
};
