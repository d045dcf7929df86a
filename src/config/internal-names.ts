import { basename } from 'node:path';
import type { Config } from './load-config.ts';
import type { StoreLocation } from '../storage/open-store.ts';

/**
 * This installation's own names, which public text (the status page, drafted messages) must
 * not contain: database names and hosts of the connection URLs, the store's bucket, endpoint
 * host and directories, the application and uploads directories, the Slack channel. Read from
 * the configuration, never guessed.
 */
export function internalNamesOf(config: Config): string[] {
  const names = new Set<string>();
  for (const url of [config.databaseUrl, config.stateUrl, config.wal.replicationUrl]) addUrl(names, url);
  for (const store of [config.store, config.secondary]) addStore(names, store);
  for (const dir of [config.files.appDir, config.files.uploadsDir, config.dataDir]) if (dir) names.add(basename(dir));
  if (config.slack.channel) names.add(config.slack.channel);
  return [...names].filter((n) => n.length >= 3 && !['localhost', 'postgres', 'var', 'tmp', 'data'].includes(n.toLowerCase()));
}

function addUrl(names: Set<string>, url: string | undefined): void {
  if (!url) return;
  try {
    const u = new URL(url);
    names.add(u.hostname);
    const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (db) names.add(db);
    if (u.username) names.add(decodeURIComponent(u.username));
  } catch {
    // Config validation reports a malformed URL.
  }
}

function addStore(names: Set<string>, store: StoreLocation | undefined): void {
  if (!store) return;
  if (store.type === 'local') {
    names.add(basename(store.dir));
    return;
  }
  names.add(store.bucket);
  if (store.prefix) names.add(store.prefix);
  if (store.endpoint) addUrl(names, store.endpoint);
}
