/**
 * Child process of bench/recover.ts: Bantay's own read path (openArtifact: digest checks and
 * decryption) from a local store into a file. Args: STORE_DIR BACKUP_ID OUT_FILE; the key comes
 * from BANTAY_ENCRYPTION_KEY.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { readManifest } from '../../src/catalog/catalog.ts';
import { KeyRing, parseKey } from '../../src/crypto/keys.ts';
import { openArtifact } from '../../src/jobs/read-artifact.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';

const [storeDir, id, out] = process.argv.slice(2);
const store = createLocalStore(storeDir!);
const keyRing = new KeyRing(parseKey(process.env.BANTAY_ENCRYPTION_KEY ?? ''), []);
await pipeline(await openArtifact(await readManifest(store, { keyRing }, id!), { store, keyRing }), createWriteStream(out!));
