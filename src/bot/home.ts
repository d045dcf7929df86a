import type { webApi } from '@slack/bolt';
import { formatDuration } from '../format/units.ts';
import type { Logger } from '../log/logger.ts';
import { listSavedDrillReports } from '../state/drill-reports.ts';
import type { StateDb } from '../state/state-db.ts';
import { listPendingApprovals } from './approval-store.ts';
import type { CatalogCache, CatalogEntry } from './catalog-cache.ts';
import type { JobRunner } from './job-runner.ts';
import type { PitrStatusCache } from './pitr-status.ts';
import { openIncidents } from '../jobs/incident/incidents.ts';
import { actorText } from './incident/incident-messages.ts';
import { messageLink } from './messages/blocks.ts';
import { buildHomeRefusedView, buildHomeView, type HomeSnapshot } from './messages/home-view.ts';
import { slackErrorOf } from './slack-api.ts';

export interface HomeSources {
  catalog: CatalogCache;
  /** The WAL archive's window and lag; a store that does not answer in 1.5 s shows "could not check". */
  pitr?: PitrStatusCache;
  /** BANTAY_TZ: the restorable window is shown in it. */
  timeZone?: string;
  runner: JobRunner;
  state: StateDb;
  storeDescription: string;
  /** The schedule's next runs, when a schedule is configured. */
  nextRuns?: () => Array<{ job: string; at: Date }>;
}

/** Reads everything the dashboard shows; each source failing alone leaves its section empty. */
export async function gatherHomeSnapshot(src: HomeSources, now = new Date()): Promise<HomeSnapshot> {
  const [catalog, approvals, drills, pitr] = await Promise.all([
    src.catalog.get(1500),
    listPendingApprovals(src.state, now).catch(() => []),
    listSavedDrillReports(src.state, 1).catch(() => []),
    src.pitr?.get(1500),
  ]);
  const latest: Partial<Record<'database' | 'application' | 'uploads', CatalogEntry>> | undefined = catalog ? {} : undefined;
  for (const e of catalog?.entries ?? []) latest![e.manifest.kind] ??= e;
  const drill = drills[0]?.report;
  return {
    now,
    storeDescription: src.storeDescription,
    latest,
    storage: catalog ? { bytes: catalog.entries.reduce((n, e) => n + e.manifest.artifact.sizeBytes, 0), backups: catalog.entries.length } : undefined,
    running: src.runner.running().map((j) => ({ title: j.title, requestedBy: j.requestedBy, startedAt: j.startedAt, phase: j.phase(), link: j.link })),
    approvals,
    lastDrill: drill
      ? {
          at: new Date(drill.finishedAt),
          passed: drill.passed,
          durationSeconds: drill.durationSeconds,
          summary: drill.items.map((i) => `${i.kind}: ${i.status}${i.rtoSeconds !== null ? `, RTO ${formatDuration(i.rtoSeconds)}` : ''}${i.rpoSeconds !== null ? `, RPO ${formatDuration(i.rpoSeconds)}` : ''}`).join(' · ') || 'no backups drilled',
          counts: drill.counts,
        }
      : undefined,
    nextRuns: src.nextRuns?.(),
    pitr: pitr === undefined ? undefined : { state: pitr, timeZone: src.timeZone ?? 'Asia/Manila' },
    incidents: (await openIncidents(src.state).catch(() => [])).map((i) => ({
      title: i.title,
      status: i.status,
      summary: i.summary,
      commander: actorText(i.commander),
      declaredAt: i.declaredAt,
      objectiveSeconds: i.objectiveSeconds,
      link: i.slackChannel && i.slackTs ? messageLink(i.slackChannel, i.slackTs) : undefined,
    })),
  };
}

/**
 * Publishes the App Home tab: to a user when they open it, and again to everyone who opened
 * it recently whenever something changes (debounced, so a burst of changes is one publish).
 */
export class HomePublisher {
  #viewers = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: {
      client: Pick<webApi.WebClient, 'views'>;
      sources: HomeSources;
      logger: Logger;
      /** Asked again before every republish: access removed since the tab was opened ends there. */
      mayView: (userId: string) => Promise<boolean>;
      debounceMs?: number;
      maxViewers?: number;
      /** A viewer who has not opened the tab for this long gets no more republishes. Default 1 h. */
      viewerTtlMs?: number;
      clock?: () => number;
    },
  ) {}

  async opened(userId: string): Promise<void> {
    this.#viewers.delete(userId);
    this.#viewers.set(userId, this.#now());
    while (this.#viewers.size > (this.o.maxViewers ?? 50)) this.#viewers.delete(this.#viewers.keys().next().value!);
    await this.#publish([userId]);
  }

  /** For someone who may not see the dashboard: a view that says so, and no republishing. */
  async refused(userId: string): Promise<void> {
    this.#viewers.delete(userId);
    await this.o.client.views
      .publish({ user_id: userId, view: buildHomeRefusedView() as never })
      .catch((err: unknown) => this.o.logger.warn({ error: slackErrorOf(err), user_id: userId }, 'could not publish App Home'));
  }

  /** Something changed: republish for recent viewers soon. */
  refresh(): void {
    if (this.#timer || this.viewers().length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#publish(this.viewers()).catch(() => undefined);
    }, this.o.debounceMs ?? 2000);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  /** Users the dashboard is republished to: recent viewers only. */
  viewers(): string[] {
    const oldest = this.#now() - (this.o.viewerTtlMs ?? 3600_000);
    for (const [user, at] of this.#viewers) if (at < oldest) this.#viewers.delete(user);
    return [...this.#viewers.keys()];
  }

  #now(): number {
    return (this.o.clock ?? Date.now)();
  }

  async #publish(users: string[]): Promise<void> {
    const allowed: string[] = [];
    for (const user of users) {
      if (await this.o.mayView(user).catch(() => false)) allowed.push(user);
      else await this.refused(user);
    }
    if (allowed.length === 0) return;
    const view = buildHomeView(await gatherHomeSnapshot(this.o.sources));
    for (const user_id of allowed) {
      await this.o.client.views.publish({ user_id, view: view as never }).catch((err: unknown) => this.o.logger.warn({ error: slackErrorOf(err), user_id }, 'could not publish App Home'));
    }
  }
}
