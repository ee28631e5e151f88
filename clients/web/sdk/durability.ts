// Storage durability: persistent storage on request (browsers may then not evict the
// database under pressure), and the usage and quota in the status.
import type { StorageStatus } from './types.js';

interface StorageManagerLike {
  persist?: () => Promise<boolean>;
  persisted?: () => Promise<boolean>;
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
}

function manager(): StorageManagerLike | null {
  return typeof navigator !== 'undefined' && (navigator as { storage?: StorageManagerLike }).storage
    ? ((navigator as { storage?: StorageManagerLike }).storage as StorageManagerLike)
    : null;
}

export async function requestPersistence(): Promise<boolean> {
  const m = manager();
  if (!m?.persist) return false;
  try {
    return await m.persist();
  } catch {
    return false;
  }
}

export async function storageStatus(): Promise<StorageStatus> {
  const m = manager();
  const out: StorageStatus = { persisted: null, usage: null, quota: null };
  if (!m) return out;
  try {
    if (m.persisted) out.persisted = await m.persisted();
    if (m.estimate) {
      const e = await m.estimate();
      out.usage = e.usage ?? null;
      out.quota = e.quota ?? null;
    }
  } catch {
    // not available in this context
  }
  return out;
}
