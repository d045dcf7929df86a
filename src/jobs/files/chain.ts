import { readManifest } from '../../catalog/catalog.ts';
import { completeIdsOfKind } from '../../catalog/ids-by-kind.ts';
import { applyRecords, type TreeState } from '../../catalog/file-index.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode, isBantayError } from '../../errors.ts';
import type { JobDeps } from '../job-context.ts';
import { readIndex } from './index-store.ts';

/**
 * Uploads chains: a full backup, then incrementals each naming its parent. A chain is found by
 * following `parentId` from any member back to the full one, so forks (two backups taken from
 * the same parent) and pruned siblings do not matter.
 */
export type ChainPlan = { type: 'full'; reason: string } | { type: 'incremental'; parent: Manifest };

const MAX_CHAIN_LENGTH = 10_000;
const DAY_MS = 86_400_000;

/** Whether the next uploads backup starts a new chain, and why. Pure. */
export function planUploadsChain(input: {
  latest: Manifest | undefined;
  sourcePath: string;
  now: Date;
  chainDays: number;
  forceFull: boolean;
}): ChainPlan {
  const { latest } = input;
  if (input.forceFull) return { type: 'full', reason: 'a full backup was asked for' };
  if (latest === undefined) return { type: 'full', reason: 'there is no earlier uploads backup' };
  if (latest.chain === undefined || latest.files === undefined) return { type: 'full', reason: `${latest.id} has no chain information` };
  if (latest.source.path !== input.sourcePath) return { type: 'full', reason: `UPLOADS_DIR changed (was ${latest.source.path ?? 'unknown'})` };
  const ageDays = (input.now.getTime() - Date.parse(latest.chain.startedAt)) / DAY_MS;
  if (!(ageDays < input.chainDays)) return { type: 'full', reason: `the current chain started ${Math.floor(ageDays)} days ago (limit ${input.chainDays})` };
  return { type: 'incremental', parent: latest };
}

/**
 * The newest uploads backup in the store, if any: one listing and (usually) one manifest read,
 * however many backups the store holds. Ids only tell the second, so every id of the newest
 * second is read and the latest createdAt (then chain sequence) wins. Unreadable manifests are
 * skipped with a warning.
 */
export async function latestUploadsBackup(deps: Pick<JobDeps, 'store' | 'logger' | 'keyRing'>): Promise<Manifest | undefined> {
  const ids = await completeIdsOfKind(deps.store, 'uploads');
  while (ids.length > 0) {
    const second = ids[0]!.slice(0, ids[0]!.lastIndexOf('-'));
    const end = ids.findIndex((id) => !id.startsWith(second));
    const group = ids.splice(0, end < 0 ? ids.length : end);
    const manifests = (await Promise.all(group.map((id) => readOrSkip(deps, id)))).filter((m): m is Manifest => m !== undefined);
    const newest = manifests.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || (b.chain?.sequence ?? 0) - (a.chain?.sequence ?? 0))[0];
    if (newest !== undefined) return newest;
  }
  return undefined;
}

async function readOrSkip(deps: Pick<JobDeps, 'store' | 'logger' | 'keyRing'>, id: string): Promise<Manifest | undefined> {
  try {
    return await readManifest(deps.store, deps, id);
  } catch (err) {
    if (!isBantayError(err) || (err.code !== ErrorCode.Integrity && err.code !== ErrorCode.NotFound)) throw err;
    deps.logger.warn({ err, backupId: id }, `skipping ${id}: unreadable manifest`);
    return undefined;
  }
}

/**
 * The members of `manifest`'s chain, full backup first, ending with `manifest` itself. An
 * application backup (no chain) is a chain of one. A missing or inconsistent member is an error.
 */
export async function loadChain(manifest: Manifest, deps: Pick<JobDeps, 'store' | 'keyRing'>): Promise<Manifest[]> {
  const members = [manifest];
  let current = manifest;
  while (current.chain !== undefined && current.chain.parentId !== null) {
    if (members.length > MAX_CHAIN_LENGTH) throw broken(manifest, 'it is longer than any chain Bantay writes');
    const parentId = current.chain.parentId;
    let parent: Manifest;
    try {
      parent = await readManifest(deps.store, deps, parentId);
    } catch (err) {
      if (isBantayError(err) && err.code === ErrorCode.NotFound) throw broken(manifest, `its member ${parentId} is missing from the store`);
      throw err;
    }
    const consistent =
      parent.kind === manifest.kind && parent.chain?.chainId === current.chain.chainId && parent.chain.sequence === current.chain.sequence - 1;
    if (!consistent) throw broken(manifest, `${parentId} does not fit as the parent of ${current.id}`);
    members.unshift(parent);
    current = parent;
  }
  if (current.chain !== undefined && (current.chain.sequence !== 0 || current.chain.chainId !== current.id)) {
    throw broken(manifest, `${current.id} should start the chain but does not`);
  }
  return members;
}

/** The exact tree at the last member of `chain`: every index applied in order. */
export async function loadTreeState(chain: readonly Manifest[], deps: Pick<JobDeps, 'store' | 'keyRing'>, signal?: AbortSignal): Promise<TreeState> {
  const state: TreeState = new Map();
  for (const member of chain) applyRecords(state, await readIndex(member, deps, signal));
  return state;
}

function broken(manifest: Manifest, reason: string): BantayError {
  return new BantayError(ErrorCode.Integrity, `The chain of ${manifest.id} is broken: ${reason}`);
}
