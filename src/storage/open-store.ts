import { createLocalStore } from './local-store.ts';
import type { ObjectStore } from './object-store.ts';
import { createS3Store, type S3StoreOptions } from './s3-store.ts';

/** Where a store lives, as the validated configuration describes it. */
export type StoreLocation = { type: 'local'; dir: string } | ({ type: 's3' } & S3StoreOptions);

/** Opens the ObjectStore for a configured location. Opening performs no I/O. */
export function openStore(location: StoreLocation): ObjectStore {
  switch (location.type) {
    case 'local':
      return createLocalStore(location.dir);
    case 's3': {
      const { type: _type, ...options } = location;
      return createS3Store(options);
    }
  }
}
