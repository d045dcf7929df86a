import { z } from 'zod';

/**
 * The cluster-level facts a database backup needs to restore on a server that has never seen
 * it (pg_dump of one database carries none of them): the roles the database references, with
 * their attributes, memberships and settings, and the database's own attributes. Stored as
 * `backups/<id>/globals.json[.enc]`, sealed like the dump (jobs/files/sealed-object.ts), its
 * digests in the manifest. Everything in it reaches SQL only through escapeIdentifier,
 * escapeLiteral or an allow-list (create-roles.ts, database-attributes.ts).
 */
export const GLOBALS_FORMAT = 'bantay-globals-v1';

/** "name=value" as pg_db_role_setting stores it. */
const setting = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*=[\s\S]*$/);
const roleName = z.string().min(1).max(63);

export const aclEntrySchema = z.object({
  /** null is PUBLIC. */
  grantee: roleName.nullable(),
  privilege: z.string(),
  grantable: z.boolean(),
});

export const databaseAttributesSchema = z.object({
  owner: roleName,
  /** -1 is no limit. */
  connectionLimit: z.number().int(),
  comment: z.string().nullable(),
  /** null: the default ACL (no GRANT/REVOKE ever ran); otherwise exactly these entries. */
  acl: z.array(aclEntrySchema).nullable(),
  /** ALTER DATABASE … SET. */
  settings: z.array(setting),
  /** ALTER ROLE … IN DATABASE <this database> SET, per role. */
  roleSettings: z.array(z.object({ role: roleName, settings: z.array(setting) })),
});

export type DatabaseAttributes = z.infer<typeof databaseAttributesSchema>;

export const roleSchema = z.object({
  name: roleName,
  superuser: z.boolean(),
  inherit: z.boolean(),
  createRole: z.boolean(),
  createDb: z.boolean(),
  canLogin: z.boolean(),
  replication: z.boolean(),
  bypassRls: z.boolean(),
  connectionLimit: z.number().int(),
  validUntil: z.string().nullable(),
  /** The stored SCRAM/MD5 verifier, only with BANTAY_BACKUP_ROLE_PASSWORDS=true and a readable pg_authid. */
  password: z.string().regex(/^(SCRAM-SHA-256\$|md5[0-9a-f]{32}$)/).nullable(),
  /** ALTER ROLE … SET (every database). */
  settings: z.array(setting),
});

export type RoleDefinition = z.infer<typeof roleSchema>;

export const membershipSchema = z.object({
  role: roleName,
  member: roleName,
  adminOption: z.boolean(),
  /** PostgreSQL 16+: the membership's own INHERIT option; absent on older servers. */
  inheritOption: z.boolean().optional(),
});

export type Membership = z.infer<typeof membershipSchema>;

export const globalsSchema = z.object({
  format: z.literal(GLOBALS_FORMAT),
  backupId: z.string(),
  database: z.object({ name: z.string() }).and(databaseAttributesSchema),
  roles: z.array(roleSchema),
  memberships: z.array(membershipSchema),
  passwords: z.boolean(),
});

export type ClusterGlobals = z.infer<typeof globalsSchema>;
