import type { Readable } from 'node:stream';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';

/**
 * An ObjectStore whose implementation is imported on first use. The S3 store pulls in the AWS
 * SDK (~0.3 s of module loading at every CLI start); a command that never touches S3 (`bantay
 * list` on a local store, `--help`) should not pay for it. Loading starts at once, so a command
 * that does use the store waits no longer than before; an error surfaces at first use.
 */
export function lazyStore(description: string, load: () => Promise<ObjectStore>): ObjectStore {
  const loading = load();
  loading.catch(() => undefined);
  return {
    description,
    put: async (key: string, body: Readable, options?: PutOptions) => (await loading).put(key, body, options),
    get: async (key: string, options?: GetOptions) => (await loading).get(key, options),
    stat: async (key: string) => (await loading).stat(key),
    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      yield* (await loading).list(prefix);
    },
    delete: async (key: string) => (await loading).delete(key),
  };
}
