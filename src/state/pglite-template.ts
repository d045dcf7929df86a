import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * A freshly initialised PGlite data directory, made once by the build (`npm run build`, in a
 * child process) and copied into place the first time Bantay opens its embedded state.
 *
 * Why: PGlite's own first initialisation runs initdb in WebAssembly next to a second
 * in-memory instance and peaks at ~750 MB RSS and ~3 s; extracting the same directory from a
 * tar and opening it is an ordinary open (~135 MB). The template is tied to the installed
 * PGlite version (its file name carries it) and is only used when that version matches;
 * otherwise, and when there is no build, PGlite initialises by itself as before.
 */
export function templateFile(version = pgliteVersion()): string {
  return join(TEMPLATE_DIR, `pglite-${version}.tar.gz`);
}

// dist/state/ -> dist/pglite-template/; src/state/ -> dist/pglite-template/ of the same checkout.
const here = dirname(fileURLToPath(import.meta.url));
const TEMPLATE_DIR = here.endsWith(join('dist', 'state')) ? join(here, '..', 'pglite-template') : join(here, '..', '..', 'dist', 'pglite-template');

export function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Puts the template at `dir` when `dir` holds no database yet and a template for this PGlite
 * exists. Extracts beside it and renames, so a crash never leaves a half-copied database.
 * The caller holds the state lock.
 */
export async function seedFromTemplate(dir: string): Promise<boolean> {
  if (existsSync(join(dir, 'PG_VERSION'))) return false;
  const template = templateFile();
  if (!existsSync(template)) return false;
  if (existsSync(dir)) {
    if (readdirSync(dir).length > 0) return false; // Not ours to replace: let PGlite judge it.
    rmdirSync(dir);
  }
  const staging = `${dir}.seed-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  try {
    // PGlite writes absolute entry names (/base/1/...): stripping the slash is expected; any
    // other warning (a damaged template) fails the seeding.
    const problems: string[] = [];
    const { x: extractTar } = await import('tar');
    await extractTar({ file: template, cwd: staging, onwarn: (code, message) => void (code === 'TAR_ENTRY_INFO' || problems.push(`${code}: ${String(message)}`)) });
    if (problems.length > 0) throw new Error(`The state template ${template} is damaged: ${problems[0]}`);
    renameSync(staging, dir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return true;
}

/** Build step: initialises an in-memory PGlite and writes its data directory as the template. */
export async function makeTemplate(): Promise<string> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create({});
  try {
    const tar = await db.dumpDataDir('none');
    const file = templateFile();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, gzipSync(Buffer.from(await tar.arrayBuffer())));
    return file;
  } finally {
    await db.close();
  }
}
