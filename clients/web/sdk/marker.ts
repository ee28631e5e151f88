// A note outside IndexedDB that a database existed here, and how many edits it held
// unsent, so that a start that finds the database gone (Safari's 7-day eviction, a
// browser clearing storage under pressure, a user clearing site data) can tell that from
// a first start, and warn when edits were lost with it. localStorage by default.

export interface MarkerStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface Marker {
  clientId: string;
  pending: number;
}

export function defaultMarkerStorage(): MarkerStorage | null {
  try {
    return typeof localStorage !== 'undefined' ? localStorage : null;
  } catch {
    return null; // storage disabled
  }
}

export function readMarker(storage: MarkerStorage | null, name: string): Marker | null {
  if (!storage) return null;
  try {
    const v: unknown = JSON.parse(storage.getItem(`fieldsync:${name}:marker`) ?? 'null');
    if (typeof v === 'object' && v !== null && typeof (v as Marker).clientId === 'string') {
      return { clientId: (v as Marker).clientId, pending: Number((v as Marker).pending) || 0 };
    }
  } catch {
    // unreadable: as if absent
  }
  return null;
}

export function writeMarker(storage: MarkerStorage | null, name: string, marker: Marker | null): void {
  if (!storage) return;
  try {
    if (marker) storage.setItem(`fieldsync:${name}:marker`, JSON.stringify(marker));
    else storage.removeItem(`fieldsync:${name}:marker`);
  } catch {
    // quota or disabled: the marker is a best effort
  }
}
