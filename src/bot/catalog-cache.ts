import { listBackups } from '../catalog/catalog.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { latestVerification, type VerificationRecord } from '../catalog/verification.ts';
import type { Logger } from '../log/logger.ts';
import type { RecordTrust } from '../catalog/json-record.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { mapLimit } from '../util/map-limit.ts';

export interface CatalogEntry {
  manifest: Manifest;
  /** The newest verification record; undefined when never verified (or not looked up). */
  verification?: VerificationRecord;
}

export interface CatalogSnapshot {
  entries: CatalogEntry[];
  loadedAt: Date;
}

/**
 * The store's catalog as the bot sees it: listed in the background and kept for `ttlMs`, so a
 * slash command can open its modal within Slack's 3-second trigger window even when listing
 * a big bucket takes longer. Verification records are looked up for the newest backups only.
 */
export class CatalogCache {
  #store: ObjectStore;
  #trust: RecordTrust;
  #logger: Logger;
  #ttlMs: number;
  #verifyLookups: number;
  #snapshot: CatalogSnapshot | undefined;
  /** Bumped by invalidate(): a load that started before the bump may miss the change. */
  #generation = 0;
  #snapshotGeneration = -1;
  #loading: { generation: number; promise: Promise<CatalogSnapshot> } | undefined;

  constructor(options: { store: ObjectStore; trust: RecordTrust; logger: Logger; ttlMs?: number; verificationLookups?: number }) {
    this.#store = options.store;
    this.#trust = options.trust;
    this.#logger = options.logger;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#verifyLookups = options.verificationLookups ?? 100;
  }

  /** The last snapshot, even if stale; undefined before the first load finished. */
  peek(): CatalogSnapshot | undefined {
    return this.#snapshot;
  }

  /**
   * A fresh snapshot when one can be had within `waitMs`; otherwise the stale one (or
   * undefined). A refresh keeps going in the background either way.
   */
  async get(waitMs = 2000): Promise<CatalogSnapshot | undefined> {
    if (this.#snapshot && Date.now() - this.#snapshot.loadedAt.getTime() < this.#ttlMs) return this.#snapshot;
    const loading = this.refresh();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    const result = await Promise.race([loading.catch(() => undefined), timeout]);
    clearTimeout(timer);
    return result ?? this.#snapshot;
  }

  /** Forgets freshness (after a job wrote to the store) and reloads in the background. */
  invalidate(): void {
    this.#generation += 1;
    if (this.#snapshot) this.#snapshot = { ...this.#snapshot, loadedAt: new Date(0) };
    this.refresh().catch(() => undefined);
  }

  /**
   * Loads the catalog; concurrent callers share one load. A load already running when
   * invalidate() was called listed the store before the change, so a new one is started
   * rather than joined.
   */
  refresh(): Promise<CatalogSnapshot> {
    if (this.#loading?.generation === this.#generation) return this.#loading.promise;
    const generation = this.#generation;
    const promise: Promise<CatalogSnapshot> = this.#load(generation).finally(() => {
      if (this.#loading?.promise === promise) this.#loading = undefined;
    });
    this.#loading = { generation, promise };
    return promise;
  }

  async #load(generation: number): Promise<CatalogSnapshot> {
    try {
      const manifests = await listBackups(this.#store, this.#trust);
      const entries: CatalogEntry[] = manifests.map((manifest) => ({ manifest }));
      await mapLimit(entries.slice(0, this.#verifyLookups), 8, async (entry) => {
        entry.verification = await latestVerification(this.#store, this.#trust, entry.manifest.id).catch(() => undefined);
      });
      const snapshot: CatalogSnapshot = { entries, loadedAt: new Date() };
      // Never replace a newer load's result; one overtaken by invalidate() is kept, but stale.
      if (generation >= this.#snapshotGeneration) {
        this.#snapshot = generation === this.#generation ? snapshot : { ...snapshot, loadedAt: new Date(0) };
        this.#snapshotGeneration = generation;
      }
      return snapshot;
    } catch (err) {
      this.#logger.warn({ err }, 'could not list the backup catalog');
      throw err;
    }
  }
}
