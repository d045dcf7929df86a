import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseKey } from '../../crypto/keys.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { checkKeys } from '../../jobs/keys/check-keys.ts';
import type { KeyCustodyReport } from '../../jobs/keys/key-custody.ts';
import { registerSecret } from '../../log/redact.ts';
import type { CliContext } from '../context.ts';
import { table } from '../format.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/**
 * `bantay key generate` and `bantay key check`: key custody (the README ("Recover without
 * Bantay")). generate needs no configuration and touches nothing; check reads the store.
 */
export function registerKeyCommands(program: Command, run: Run): void {
  const key = program.command('key').description('encryption keys: generate a new one, check which keys read which backups');

  key
    .command('generate')
    .description('print a new random encryption key and its fingerprint (or write it to a 0600 file with --out)')
    .option('--out <file>', 'write the key to this new file (mode 0600) instead of printing it')
    .option('--json', 'print {"key","keyId"} as JSON (without --out)')
    .action((opts: { out?: string; json?: boolean }) =>
      run(async (ctx) => {
        const text = randomBytes(32).toString('base64');
        registerSecret(text);
        const { id } = parseKey(text);
        const guidance =
          `Keep this key outside the backup bucket: in your password manager and on paper in a safe place, ` +
          `with the recovery kit (bantay recovery-kit). Without it no backup it encrypts can be read.\n` +
          `To rotate: make it BANTAY_ENCRYPTION_KEY and move the old key to BANTAY_DECRYPTION_KEYS; ` +
          `bantay key check says when the old key can go.\n`;
        if (opts.out !== undefined) {
          const file = resolve(ctx.io.cwd, opts.out);
          const handle = await open(file, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
            throw new BantayError(ErrorCode.InvalidInput, `Cannot create ${file}: ${err.code === 'EEXIST' ? 'it already exists (keys are never overwritten)' : err.code ?? err.message}`);
          });
          try {
            await handle.writeFile(`${text}\n`);
            await handle.sync();
          } finally {
            await handle.close();
          }
          ctx.io.stdout.write(`Wrote a new key to ${file} (mode 0600)\nfingerprint  ${id}\n`);
          ctx.io.stderr.write(`Use it with BANTAY_ENCRYPTION_KEY_FILE=${file}\n${guidance}`);
          return;
        }
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify({ key: text, keyId: id })}\n`);
          return;
        }
        ctx.io.stdout.write(`key          ${text}\nfingerprint  ${id}\n`);
        ctx.io.stderr.write(guidance);
      }),
    );

  key
    .command('check')
    .description('which configured keys decrypt which backups; exit 1 when a backup cannot be decrypted with any configured key')
    .option('--json', 'print the report as JSON on stdout')
    .action((opts: { json?: boolean }) =>
      run(async (ctx) => {
        const deps = await ctx.deps();
        const { retention, timezone } = ctx.config.ops;
        const report = await checkKeys({ keyRing: ctx.config.keyRing, retention: { policy: retention, timezone }, signal: ctx.io.signal }, deps);
        ctx.io.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : renderKeyCheck(report));
        if (report.unreadable.length > 0) {
          throw new BantayError(ErrorCode.KeyMissing, `${report.unreadable.length} backup(s) cannot be decrypted with the configured keys`, {
            details: [...new Set(report.unreadable.map((u) => u.keyId))].map((id) => `add the key with fingerprint ${id} to BANTAY_DECRYPTION_KEYS`),
          });
        }
      }),
    );
}

export function renderKeyCheck(report: KeyCustodyReport): string {
  let out = '';
  if (report.keys.length === 0) out += 'No encryption key is configured and no backup is encrypted.\n';
  else {
    const rows = [['KEY', 'ROLE', 'BACKUPS', 'KEPT', 'NEWEST', 'VERDICT']];
    for (const k of report.keys) rows.push([k.keyId, k.role, String(k.backups), String(k.kept), k.newest?.id ?? '-', k.verdict]);
    out += `${table(rows)}\n`;
  }
  if (report.unreadable.length > 0) {
    out += `\nALERT: ${report.unreadable.length} backup(s) cannot be decrypted with the configured keys:\n`;
    for (const u of report.unreadable.slice(0, 20)) out += `  ${u.id}  ${u.kind}  ${u.createdAt}  key ${u.keyId}\n`;
  }
  if (report.unencrypted.length > 0) out += `\nWarning: ${report.unencrypted.length} backup(s) are stored UNENCRYPTED: ${report.unencrypted.slice(0, 5).join(', ')}${report.unencrypted.length > 5 ? ', ...' : ''}\n`;
  if (report.unreadableManifests.length > 0) out += `\nWarning: the manifests of ${report.unreadableManifests.join(', ')} cannot be read; their keys are unknown.\n`;
  const retire = report.keys.filter((k) => k.canRetire);
  if (retire.length > 0) out += `\nRemove from BANTAY_DECRYPTION_KEYS (no retained backup needs them): ${retire.map((k) => k.keyId).join(', ')}\n`;
  return out;
}
