import { createLocalStore } from './local-store.ts';
import type { ObjectStore } from './object-store.ts';
import { lazyStore } from './lazy-store.ts';
import { describeS3 } from './s3-description.ts';
import type { S3StoreOptions } from './s3-store.ts';

/** Where a store lives, as the validated configuration describes it. */
export type StoreLocation = { type: 'local'; dir: string } | ({ type: 's3' } & S3StoreOptions);

/** Opens the ObjectStore for a configured location. Opening performs no I/O. */
export function openStore(location: StoreLocation): ObjectStore {
  switch (location.type) {
    case 'local':
      return createLocalStore(location.dir);
    case 's3': {
      const { type: _type, ...options } = location;
      // The AWS SDK loads only when an S3 store is opened (lazy-store.ts).
      return lazyStore(describeS3(options), async () => (await import('./s3-store.ts')).createS3Store(options));
    }
  }
}
