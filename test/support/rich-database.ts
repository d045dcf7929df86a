import { sql } from './databases.ts';

/**
 * A database the project did not design, with what real ones have: objects owned by and granted
 * to roles (owner, grantee, a group and its login member, role settings, settings in the
 * database), a partitioned table, legacy inheritance, large objects, sequences, materialized
 * views (one populated, one not), functions and triggers, `"a.b".c` beside `a."b.c"`, and dotted
 * and unicode names. Roles get the `suffix` so parallel test files never share them.
 */
export interface RichRoles {
  owner: string;
  reader: string;
  group: string;
  member: string;
}

export function richRoles(suffix: string): RichRoles {
  return { owner: `may_ari_${suffix}`, reader: `mambabasa_${suffix}`, group: `pangkat_${suffix}`, member: `kasapi_${suffix}` };
}

/** Creates the roles on `adminUrl`'s server and the objects in the database at `url` (named `database`). */
export async function createRichDatabase(adminUrl: string, url: string, database: string, roles: RichRoles): Promise<void> {
  const { owner, reader, group, member } = roles;
  await sql(adminUrl, `CREATE ROLE ${owner} NOLOGIN CREATEDB CONNECTION LIMIT 5`);
  await sql(adminUrl, `CREATE ROLE ${reader} LOGIN PASSWORD 'basa-123' VALID UNTIL '2099-01-01 00:00:00+00'`);
  await sql(adminUrl, `CREATE ROLE ${group} NOLOGIN NOINHERIT`);
  await sql(adminUrl, `CREATE ROLE ${member} LOGIN IN ROLE ${group}`);
  await sql(adminUrl, `ALTER ROLE ${owner} SET work_mem TO '16MB'`);
  await sql(adminUrl, `ALTER ROLE ${member} IN DATABASE ${database} SET search_path TO tindahan, public`);
  await sql(adminUrl, `ALTER DATABASE ${database} OWNER TO ${owner}`);
  await sql(adminUrl, `ALTER DATABASE ${database} WITH CONNECTION LIMIT 42`);
  await sql(adminUrl, `COMMENT ON DATABASE ${database} IS 'Tindahan ni Aling Nena'`);
  await sql(adminUrl, `ALTER DATABASE ${database} SET timezone TO 'Asia/Manila'`);
  await sql(adminUrl, `REVOKE CONNECT ON DATABASE ${database} FROM PUBLIC`);
  await sql(adminUrl, `GRANT CONNECT ON DATABASE ${database} TO ${group}, ${reader}`);
  await sql(
    url,
    `
    CREATE SCHEMA tindahan AUTHORIZATION ${owner};
    CREATE SCHEMA "a.b"; CREATE SCHEMA a; CREATE SCHEMA "Kasama.Dot";
    CREATE TABLE "a.b".c (id int); INSERT INTO "a.b".c SELECT generate_series(1, 3);
    CREATE TABLE a."b.c" (id int); INSERT INTO a."b.c" SELECT generate_series(1, 5);
    CREATE TABLE "Kasama.Dot"."Name With Space" (id int); INSERT INTO "Kasama.Dot"."Name With Space" VALUES (1), (2);
    CREATE TABLE tindahan."résibo" (id bigserial PRIMARY KEY, halaga numeric(10,2) NOT NULL);
    INSERT INTO tindahan."résibo" (halaga) SELECT g * 1.5 FROM generate_series(1, 25) g;
    CREATE SEQUENCE tindahan.numero_seq; SELECT setval('tindahan.numero_seq', 42);
    CREATE SEQUENCE tindahan.hindi_pa_seq;
    CREATE TABLE tindahan.benta (araw date NOT NULL, halaga int) PARTITION BY RANGE (araw);
    CREATE TABLE tindahan.benta_2025 PARTITION OF tindahan.benta FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TABLE tindahan.benta_2026 PARTITION OF tindahan.benta FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    CREATE INDEX ON tindahan.benta (araw);
    INSERT INTO tindahan.benta SELECT date '2025-06-01' + g, g FROM generate_series(0, 300) g;
    CREATE TABLE tindahan.lungsod (pangalan text, populasyon int);
    CREATE TABLE tindahan.kabisera (rehiyon text) INHERITS (tindahan.lungsod);
    INSERT INTO tindahan.lungsod VALUES ('Cebu', 1), ('Davao', 2), ('Iloilo', 3);
    INSERT INTO tindahan.kabisera VALUES ('Maynila', 4, 'NCR');
    CREATE FUNCTION tindahan.tatak() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.halaga := coalesce(NEW.halaga, 0); RETURN NEW; END $$;
    CREATE TRIGGER tatak BEFORE INSERT ON tindahan."résibo" FOR EACH ROW EXECUTE FUNCTION tindahan.tatak();
    CREATE MATERIALIZED VIEW tindahan.araw_araw AS SELECT araw, sum(halaga) AS kabuuan FROM tindahan.benta GROUP BY araw;
    CREATE MATERIALIZED VIEW tindahan.walang_laman AS SELECT 1 AS x WITH NO DATA;
    SELECT lo_from_bytea(424242, 'kumusta'::bytea);
    SELECT lo_from_bytea(424243, convert_to(repeat('malaking resibo ', 40000), 'UTF8'));
    `,
  );
  await sql(
    url,
    `
    ALTER TABLE "a.b".c OWNER TO ${owner}; ALTER TABLE a."b.c" OWNER TO ${owner}; ALTER TABLE "Kasama.Dot"."Name With Space" OWNER TO ${owner};
    ALTER TABLE tindahan."résibo" OWNER TO ${owner}; ALTER SEQUENCE tindahan.numero_seq OWNER TO ${owner};
    ALTER TABLE tindahan.benta OWNER TO ${owner}; ALTER TABLE tindahan.benta_2025 OWNER TO ${owner}; ALTER TABLE tindahan.benta_2026 OWNER TO ${owner};
    ALTER TABLE tindahan.lungsod OWNER TO ${owner}; ALTER TABLE tindahan.kabisera OWNER TO ${owner};
    ALTER FUNCTION tindahan.tatak() OWNER TO ${owner}; ALTER MATERIALIZED VIEW tindahan.araw_araw OWNER TO ${owner};
    ALTER LARGE OBJECT 424242 OWNER TO ${owner}; GRANT SELECT ON LARGE OBJECT 424242 TO ${reader};
    GRANT USAGE ON SCHEMA tindahan TO ${group};
    GRANT SELECT ON ALL TABLES IN SCHEMA tindahan TO ${group};
    GRANT SELECT, INSERT ON "a.b".c TO ${reader};
    GRANT SELECT (id) ON a."b.c" TO ${reader};
    GRANT EXECUTE ON FUNCTION tindahan.tatak() TO ${member};
    `,
  );
}

/**
 * What "owners and grants equal" means, as catalog rows: owners and ACLs of every relation,
 * column, schema, function and large object in the database, the database's own attributes,
 * and the roles with their attributes, settings and memberships. ACL entries are compared as
 * sets: their order in the array carries no meaning.
 */
export async function ownershipSnapshot(adminUrl: string, url: string, database: string, roleNames: readonly string[]): Promise<Record<string, unknown>> {
  const userSchema = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;
  return {
    relations: await sql(url, `SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) AS owner, array(SELECT x::text FROM unnest(c.relacl) x ORDER BY 1) AS acl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${userSchema} ORDER BY 1, 2`),
    columns: await sql(url, `SELECT c.relname, a.attname, array(SELECT x::text FROM unnest(a.attacl) x ORDER BY 1) AS acl FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${userSchema} AND a.attacl IS NOT NULL ORDER BY 1, 2`),
    schemas: await sql(url, `SELECT n.nspname, pg_get_userbyid(n.nspowner) AS owner, array(SELECT x::text FROM unnest(n.nspacl) x ORDER BY 1) AS acl FROM pg_namespace n WHERE ${userSchema} ORDER BY 1`),
    functions: await sql(url, `SELECT p.proname, pg_get_userbyid(p.proowner) AS owner, array(SELECT x::text FROM unnest(p.proacl) x ORDER BY 1) AS acl FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${userSchema} ORDER BY 1`),
    largeObjects: await sql(url, `SELECT oid::text, pg_get_userbyid(lomowner) AS owner, array(SELECT x::text FROM unnest(lomacl) x ORDER BY 1) AS acl FROM pg_largeobject_metadata ORDER BY oid`),
    database: await sql(
      adminUrl,
      `SELECT pg_get_userbyid(datdba) AS owner, datconnlimit, shobj_description(oid, 'pg_database') AS comment, array(SELECT x::text FROM unnest(datacl) x ORDER BY 1) AS acl,
              (SELECT array_agg(coalesce(pg_get_userbyid(nullif(setrole, 0)), '') || ':' || array_to_string(setconfig, ';') ORDER BY coalesce(pg_get_userbyid(nullif(setrole, 0)), '')) FROM pg_db_role_setting WHERE setdatabase = d.oid) AS settings
         FROM pg_database d WHERE datname = $1`,
      [database],
    ),
    roles: await sql(
      adminUrl,
      `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit, rolvaliduntil::text, rolconfig
         FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1`,
      [roleNames],
    ),
    memberships: await sql(
      adminUrl,
      `SELECT r.rolname AS role, u.rolname AS member, m.admin_option FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = ANY($1) OR u.rolname = ANY($1) ORDER BY 1, 2`,
      [roleNames],
    ),
  };
}
