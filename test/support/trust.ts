import type { RecordTrust } from '../../src/catalog/json-record.ts';
import { KeyRing } from '../../src/crypto/keys.ts';

/** Reading and writing catalog records with no key configured: nothing is authenticated. */
export const NO_KEY: RecordTrust = { keyRing: new KeyRing(undefined, []) };
