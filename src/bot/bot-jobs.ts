import { runAppHookStep } from '../jobs/incident/hook-step.ts';
import { streamStatusFileOf } from '../jobs/wal/stream-status-file.ts';
import { basename } from 'node:path';
import { findUsableBackup } from '../jobs/find-backup.ts';
import type { BackupKind } from '../catalog/backup-id.ts';
import type { Manifest } from '../catalog/manifest.ts';
import type { Config, FilesConfig } from '../config/load-config.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { runDatabaseBackup } from '../jobs/backup-database.ts';
import { runEmergencyBackup, runFullBackupSet, runPreDeployBackup } from '../jobs/backup-set.ts';
import { runDrill } from '../jobs/drill.ts';
import { dropKeptDatabase } from '../jobs/drop-kept-database.ts';
import { runApplicationBackup, runUploadsBackup } from '../jobs/files/backup-files.ts';
import { restoreFilesBackup, type InPlaceTarget } from '../jobs/files/restore-files.ts';
import { pickLastBackupOfDay } from '../jobs/files/select-by-date.ts';
import { verifyFilesBackup } from '../jobs/files/verify-files.ts';
import type { JobDeps, Trigger } from '../jobs/job-context.ts';
import type { ProgressReporter } from '../jobs/progress.ts';
import { restoreToNewDatabase } from '../jobs/restore-database.ts';
import { restoreInPlace } from '../jobs/restore-in-place.ts';
import { runHook } from '../jobs/run-hook.ts';
import { checkDatabaseAgainstBackup } from '../jobs/check-database.ts';
import { describeDatabaseUrl } from '../jobs/pg/connection.ts';
import { verifyBackup } from '../jobs/verify-backup.ts';
import { restoreDirUnderRoots } from './restore-roots.ts';
import { kindOfBackupRef, type BackupVariant, type BotJobSpec } from './job-spec.ts';
import { backupResult, databaseCheckResult, drillResult, dropKeptResult, filesRestoreResult, filesVerifyResult, pitrResult, restoreResult, setResult, verifyResult } from './job-results.ts';
import { listBackups } from '../catalog/catalog.ts';
import type { StoreLocation } from '../storage/open-store.ts';
import { runPointInTimeRestore } from '../jobs/pitr/run-pitr.ts';
import { drillPitrOf, pitrContextOf } from '../jobs/pitr/pitr-settings.ts';
import { parseRestoreTarget } from '../jobs/restore-database.ts';
import { openSecondaryStore } from '../storage/open-secondary.ts';
import { readWalStatus, type WalStatus } from '../jobs/wal/wal-status.ts';
import type { JobResult } from './job-result.ts';

export type { JobResult } from './job-result.ts';

/**
 * The jobs facade: maps what the bot was asked to do onto the same job functions the CLI
 * runs, with dependencies built once at start. Jobs never learn about Slack; results come
 * back as plain data the message builders render.
 */
export interface RunContext {
  trigger: Trigger;
  signal: AbortSignal;
  reporter: ProgressReporter;
}

export interface BotJobs {
  /** Why this job cannot run in this deployment (a missing setting), or undefined when it can. */
  unavailable(spec: BotJobSpec): string | undefined;
  run(spec: BotJobSpec, ctx: RunContext): Promise<JobResult>;
  /** What an in-place restore of `kind` replaces, and the name typed to confirm it. */
  live(kind: BackupKind): { what: string; confirmName: string } | undefined;
  /** The live database's name. */
  liveDatabaseName(): string | undefined;
  /** "host/database" of the FBMS database, for confirmations (never credentials). */
  describeSource(): string;
  /** What a backup variant does, in one line, for its confirmation. */
  describeBackup(spec: Extract<BotJobSpec, { type: 'backup' }>): string;
  /** True when new backups are encrypted. */
  encrypts(): boolean;
  objectives(): { rtoSeconds: number; rpoSeconds: number };
  /** The directory a files restore from Slack goes to (only under the restore roots); throws why not. */
  filesRestoreDir(name: string, backupId: string): string;
  /** The last uploads backup taken on `day` (YYYY-MM-DD) in BANTAY_TZ, like `restore --date`. */
  uploadsBackupOfDay(manifests: readonly Manifest[], day: string): Manifest | undefined;
  /** The usable backups of a location, read now (the secondary has no cache: it is read during an outage only). */
  backupsAt(location: 'primary' | 'secondary'): Promise<Manifest[]>;
  /** BANTAY_WAL: off, stream or archive. */
  walMode(): string;
  /** Why point-in-time recovery is not set up where the bot runs (WAL archiving off, no data directory, no database), in words; undefined when it is. */
  pitrNotSetUp(): string | undefined;
  /**
   * What `bantay wal status` reads from the store and the streamer's state file: the window,
   * the newest archived WAL, the stream. No database connection (the slot is left out), so it
   * only waits on the store.
   */
  readPitrStatus(): Promise<WalStatus>;
}

/**
 * `dataDir` (the scratch cluster of a point-in-time recovery lives under it) and `secondary`
 * (restores from the secondary location) are optional: without them those two jobs say they are
 * not set up where the bot runs.
 */
export type BotJobsConfig = Pick<Config, 'databaseUrl' | 'recovery'> & { files?: FilesConfig; slack?: { restoreRoots: readonly string[] }; dataDir?: string; secondary?: StoreLocation; wal?: { mode: string; replicationUrl?: string; slot?: string } };

const NO_PITR = 'Point-in-time recovery is not set up where the bot runs. Ask whoever runs Bantay to set it up.';

const NO_SECONDARY = 'No secondary location is set up where the bot runs. Ask whoever runs Bantay to set one up.';

const NO_FILES: FilesConfig = { appDir: undefined, uploadsDir: undefined, appExclude: [], uploadsChainDays: 7, timeZone: 'UTC' };

/** What the runners need besides the job's own spec: built once by createBotJobs. */
interface JobEnv {
  deps: JobDeps;
  recovery: BotJobsConfig['recovery'];
  files: FilesConfig;
  databaseUrl: () => string;
  restoreRoots: readonly string[];
  config: BotJobsConfig;
  /** The secondary location, opened once on first use. */
  secondary: () => JobDeps;
}

export function createBotJobs(deps: JobDeps, config: BotJobsConfig): BotJobs {
  const files = config.files ?? NO_FILES;
  let secondaryDeps: JobDeps | undefined;
  const env: JobEnv = {
    deps,
    recovery: config.recovery,
    files,
    databaseUrl: () => config.databaseUrl!,
    restoreRoots: config.slack?.restoreRoots ?? [],
    config,
    // Backups read from the secondary are trusted the same way (its records are authenticated with the same keys).
    secondary: () => (secondaryDeps ??= { ...deps, store: openSecondaryStore(config.secondary!) }),
  };
  const missing = (needs: Array<'db' | 'app' | 'uploads'>): string | undefined => {
    // People in Slack cannot fix settings: say what is missing in words and who can fix it.
    const names = needs.filter((n) => (n === 'db' ? config.databaseUrl : n === 'app' ? files.appDir : files.uploadsDir) === undefined).map((n) => ({ db: 'the FBMS database', app: 'the application folder', uploads: 'the uploads folder' })[n]);
    return names.length ? `This needs ${names.join(' and ')}, which ${names.length > 1 ? 'are' : 'is'} not set up where the bot runs. Ask whoever runs Bantay to set ${names.length > 1 ? 'them' : 'it'} up.` : undefined;
  };
  const pitrMissing = () => missing(['db']) ?? (config.dataDir === undefined ? NO_PITR : undefined);

  const jobs: BotJobs = {
    unavailable(spec) {
      switch (spec.type) {
        case 'backup':
          return missing(BACKUP_NEEDS[spec.variant]);
        case 'drill':
        case 'drop-kept':
          return missing(['db']);
        case 'verify':
          if (spec.from === 'secondary' && config.secondary === undefined) return NO_SECONDARY;
          return kindOfBackupRef(spec.backup) === 'database' ? missing(['db']) : undefined;
        case 'pitr-restore':
          return pitrMissing();
        case 'restore': {
          const kind = kindOfBackupRef(spec.backup);
          if (spec.from === 'secondary') {
            if (config.secondary === undefined) return NO_SECONDARY;
            if (spec.target.mode === 'in-place' || kind !== 'database') return 'From Slack, a backup from the secondary location is restored into a new database only. Putting it in place is done at the Bantay console on the server.';
          }
          if (kind === 'database') return missing(['db']);
          return spec.target.mode === 'in-place' ? missing([kind === 'application' ? 'app' : 'uploads']) : undefined;
        }
        case 'app-hook':
          return (spec.hook === 'stop' ? config.recovery.appStopCmd : config.recovery.appStartCmd) === undefined
            ? `No command to ${spec.hook} the application is set up where the bot runs. Do this step by hand and mark it done, or ask whoever runs Bantay to set it up.`
            : undefined;
      }
    },
    async run(spec, ctx) {
      const reason = jobs.unavailable(spec);
      if (reason !== undefined) throw new BantayError(ErrorCode.ConfigInvalid, reason);
      switch (spec.type) {
        case 'backup':
          return runBackup(spec, env, ctx);
        case 'verify':
          return runVerify(spec, env, ctx);
        case 'restore':
          return runRestore(spec, env, ctx);
        case 'pitr-restore':
          return runPitrRestore(spec, env, ctx);
        case 'drop-kept':
          return dropKeptResult(await dropKeptDatabase({ ...dbCommon(env), name: spec.database, trigger: ctx.trigger }, deps));
        case 'drill':
          return drillResult(await runDrill({ ...dbCommon(env), objectives: jobs.objectives(), trigger: ctx.trigger, signal: ctx.signal, pitr: drillPitrOf({ ...config, timeZone: files.timeZone }) }, deps, ctx.reporter));
        case 'app-hook': {
          const command = spec.hook === 'stop' ? config.recovery.appStopCmd : config.recovery.appStartCmd;
          const result = await runAppHookStep(deps, { hook: spec.hook, command, timeoutSeconds: config.recovery.hookTimeoutSeconds, trigger: ctx.trigger, signal: ctx.signal });
          return { headline: `The application ${spec.hook} command finished in ${result.seconds.toFixed(1)} s`, ok: true, fields: [], details: result.output.trim() === '' ? [] : [result.output.slice(-1500)] };
        }
      }
    },
    live(kind) {
      if (kind === 'database') {
        const name = jobs.liveDatabaseName();
        return name === undefined ? undefined : { what: `the live database \`${name}\``, confirmName: name };
      }
      const dir = kind === 'application' ? files.appDir : files.uploadsDir;
      return dir === undefined ? undefined : { what: `the live ${kind} directory \`${dir}\``, confirmName: basename(dir) };
    },
    liveDatabaseName() {
      if (config.databaseUrl === undefined) return undefined;
      return decodeURIComponent(new URL(config.databaseUrl).pathname.slice(1)) || undefined;
    },
    describeSource() {
      if (config.databaseUrl === undefined) return '(no FBMS database set up)';
      const u = new URL(config.databaseUrl);
      return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
    },
    describeBackup(spec) {
      const source = `a consistent \`pg_dump\` of \`${jobs.describeSource()}\` (FBMS keeps running)`;
      const app = `a tar of \`${files.appDir ?? 'the application folder (not set up)'}\`${files.appExclude.length ? ` without ${files.appExclude.slice(0, 6).join(', ')}` : ''}`;
      const uploads = `the files of \`${files.uploadsDir ?? 'the uploads folder (not set up)'}\` added or changed since the last uploads backup (a new full chain every ${files.uploadsChainDays} days)`;
      switch (spec.variant) {
        case 'database':
          return source;
        case 'emergency':
          return `${source}, marked emergency`;
        case 'application':
          return app;
        case 'uploads':
          return uploads;
        case 'full':
          return `database (${source}), application (${app}) and uploads (a new full chain of \`${files.uploadsDir ?? 'the uploads folder (not set up)'}\`), linked as one set`;
        case 'pre-deploy':
          return `database (${source}) and application (${app}), both labelled \`${spec.label ?? ''}\``;
      }
    },
    encrypts: () => deps.keyRing.primary !== undefined,
    filesRestoreDir: (name, backupId) => restoreDirUnderRoots(name, backupId, env.restoreRoots),
    uploadsBackupOfDay: (manifests, day) => pickLastBackupOfDay(manifests.filter((m) => m.kind === 'uploads'), day, files.timeZone),
    objectives: () => ({ rtoSeconds: config.recovery.rtoObjectiveSeconds, rpoSeconds: config.recovery.rpoObjectiveSeconds }),
    walMode: () => config.wal?.mode ?? 'off',
    pitrNotSetUp() {
      if (jobs.walMode() === 'off') return 'WAL archiving is off where the bot runs, so there is no record of the changes between backups to recover a point in time from. Ask whoever runs Bantay to turn it on.';
      return pitrMissing();
    },
    readPitrStatus() {
      const streamStatusFile = streamStatusFileOf(config.dataDir ?? '.');
      return readWalStatus({ slot: config.wal?.slot ?? 'bantay', streamStatusFile, now: deps.now?.() }, deps);
    },
    async backupsAt(location) {
      if (location === 'secondary' && config.secondary === undefined) throw new BantayError(ErrorCode.ConfigInvalid, NO_SECONDARY);
      const at = location === 'secondary' ? env.secondary() : deps;
      return listBackups(at.store, at);
    },
  };
  return jobs;
}

const BACKUP_NEEDS: Record<BackupVariant, Array<'db' | 'app' | 'uploads'>> = {
  database: ['db'],
  emergency: ['db'],
  application: ['app'],
  uploads: ['uploads'],
  full: ['db', 'app', 'uploads'],
  'pre-deploy': ['db', 'app'],
};

function dbCommon(env: JobEnv) {
  return { databaseUrl: env.databaseUrl(), maintenanceDb: env.recovery.maintenanceDb, jobs: env.recovery.restoreJobs };
}

async function runBackup(spec: Extract<BotJobSpec, { type: 'backup' }>, env: JobEnv, { trigger, signal, reporter }: RunContext): Promise<JobResult> {
  const { deps, files } = env;
  switch (spec.variant) {
    case 'database':
      return backupResult(await runDatabaseBackup({ databaseUrl: env.databaseUrl(), label: spec.label, trigger, signal }, deps, reporter));
    case 'emergency':
      return backupResult(await runEmergencyBackup({ databaseUrl: env.databaseUrl(), trigger, signal }, deps, reporter));
    case 'application':
      return backupResult(await runApplicationBackup({ appDir: files.appDir!, exclude: files.appExclude, label: spec.label, trigger, signal }, deps, reporter));
    case 'uploads':
      return backupResult(await runUploadsBackup({ uploadsDir: files.uploadsDir!, chainDays: files.uploadsChainDays, strict: files.uploadsStrict, label: spec.label, trigger, signal }, deps, reporter));
    case 'full':
      return setResult(
        await runFullBackupSet({ databaseUrl: env.databaseUrl(), appDir: files.appDir!, uploadsDir: files.uploadsDir!, exclude: files.appExclude, chainDays: files.uploadsChainDays, label: spec.label, trigger, signal }, deps, reporter),
      );
    case 'pre-deploy':
      return setResult(await runPreDeployBackup({ version: spec.label ?? '', databaseUrl: env.databaseUrl(), appDir: files.appDir!, exclude: files.appExclude, trigger, signal }, deps, reporter));
  }
}

async function runVerify(spec: Extract<BotJobSpec, { type: 'verify' }>, env: JobEnv, { trigger, signal, reporter }: RunContext): Promise<JobResult> {
  const { backup } = spec;
  const deps = spec.from === 'secondary' ? env.secondary() : env.deps;
  if (spec.restored !== undefined) {
    const common = dbCommon(env);
    const database = spec.restored.mode === 'new' ? spec.restored.name : describeDatabaseUrl(common.databaseUrl).database;
    return databaseCheckResult(await checkDatabaseAgainstBackup({ ...common, backup, database, trigger, signal }, deps, reporter));
  }
  if (kindOfBackupRef(backup) === 'database') return verifyResult(await verifyBackup({ ...dbCommon(env), backup, trigger, signal }, deps, reporter));
  const manifest = await findUsableBackup(deps, backup, { operation: 'verify', trigger });
  return filesVerifyResult(manifest.id, await verifyFilesBackup(manifest, deps, reporter, { signal }));
}

/** Point-in-time recovery into a new database: the console's `restore --time T --target-db NAME`. */
async function runPitrRestore(spec: Extract<BotJobSpec, { type: 'pitr-restore' }>, env: JobEnv, { trigger, signal, reporter }: RunContext): Promise<JobResult> {
  // Whatever a form or a button claims: from the bot a point in time goes into a new database only.
  if ((spec.target as { mode?: unknown } | undefined)?.mode !== 'new') {
    throw new BantayError(ErrorCode.InvalidInput, 'From Slack, a point-in-time recovery goes into a new database only; the live database was not touched');
  }
  const restore = { ...dbCommon(env), backup: '', trigger, signal };
  const context = pitrContextOf({ ...env.config, dataDir: env.config.dataDir!, timeZone: env.files.timeZone });
  const live = context.database!;
  const result = await runPointInTimeRestore(
    { ...context, target: new Date(spec.time), to: { kind: 'database', name: parseRestoreTarget(spec.target.name, live), replace: false, restore }, trigger, signal },
    env.deps,
    reporter,
  );
  return pitrResult(result, context.describeTime);
}

async function runRestore(spec: Extract<BotJobSpec, { type: 'restore' }>, env: JobEnv, { trigger, signal, reporter }: RunContext): Promise<JobResult> {
  const { files, recovery } = env;
  const deps = spec.from === 'secondary' ? env.secondary() : env.deps;
  const kind = kindOfBackupRef(spec.backup);
  // The approval id travels with the spec; the job checks and uses it up (the bot only asks).
  const authorization = spec.approvalId === undefined ? undefined : { type: 'approval' as const, approvalId: spec.approvalId };
  if (kind === 'database') {
    const base = { ...dbCommon(env), backup: spec.backup, trigger, signal };
    const hooks = { stop: recovery.appStopCmd, start: recovery.appStartCmd, timeoutSeconds: recovery.hookTimeoutSeconds };
    return restoreResult(
      spec.target.mode === 'in-place'
        ? await restoreInPlace({ ...base, hooks, authorization, acceptRestoreErrors: spec.acceptRestoreErrors === true, fromOtherDatabase: spec.fromOtherDatabase === true }, deps, reporter)
        : await restoreToNewDatabase({ ...base, target: spec.target.name, replace: false }, deps, reporter),
    );
  }
  const manifest = await findUsableBackup(deps, spec.backup, { operation: 'restore', trigger });
  // Only the stop hook may be cancelled: a cancel after the application was stopped must still
  // start it again, or FBMS stays down.
  const hook = (name: 'stop' | 'start', command: string | undefined) =>
    command === undefined
      ? undefined
      : async () => void (await runHook(`app ${name}`, command, { timeoutSeconds: recovery.hookTimeoutSeconds, signal: name === 'stop' ? signal : undefined }));
  const target: InPlaceTarget | { type: 'directory'; dir: string } =
    spec.target.mode === 'in-place'
      ? {
          type: 'in-place',
          liveDir: (kind === 'application' ? files.appDir : files.uploadsDir)!,
          exclude: files.appExclude,
          chainDays: files.uploadsChainDays,
          beforeSwap: hook('stop', recovery.appStopCmd),
          afterSwap: hook('start', recovery.appStartCmd),
          authorization,
        }
      : { type: 'directory', dir: restoreDirUnderRoots(spec.target.name, manifest.id, env.restoreRoots) };
  return filesRestoreResult(await restoreFilesBackup({ manifest, target, trigger, signal }, deps, reporter));
}

