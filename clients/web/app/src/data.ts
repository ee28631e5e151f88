// The app's data: one SDK client per signed-in user, with the collections its role needs.
//
// A rep syncs its territory (accounts, opportunities, the visits of the last three
// months, the reps and the territory), its own KPIs and the insights about it or its
// territory. A manager syncs the region's reps, their KPIs and the region's insights.
// The visits' window starts on the first day of the month three months back, so the
// filter (and with it the subscription) changes once a month, not every day: a changed
// filter re-snapshots the collection (docs/web-client.md).
import { createClient, type CollectionConfig, type FieldsyncClient } from './sdk.js';
import { clientName, type Session } from './session.js';

export interface AppData {
  client: FieldsyncClient;
  session: Session;
  role: 'rep' | 'manager';
}

export function visitsWindowStart(now: Date): string {
  const d = new Date(Date.UTC(now.getFullYear(), now.getMonth() - 3, 1));
  return d.toISOString().replace('.000Z', 'Z');
}

export function collectionsFor(session: Session, now = new Date()): Record<string, CollectionConfig> {
  const c = session.claims;
  // Smallest first: the dashboard needs kpis and insights, and the server starts the
  // subscriptions in this order.
  if (c.role === 'manager') {
    return {
      kpis: { primaryKey: ['rep_id', 'month'] },
      insights: { primaryKey: ['id'] },
      reps: { primaryKey: ['id'] },
      territories: { primaryKey: ['id'] },
    };
  }
  return {
    kpis: { primaryKey: ['rep_id', 'month'] },
    insights: { primaryKey: ['id'], where: 'rep_id IS NULL OR rep_id = $1', params: [c.rep_id] },
    territories: { primaryKey: ['id'] },
    reps: { primaryKey: ['id'] },
    opportunities: { primaryKey: ['id'] },
    accounts: { primaryKey: ['id'] },
    visits: { primaryKey: ['id'], where: 'visited_at >= $1', params: [visitsWindowStart(now)] },
  };
}

export async function openData(session: Session, onTokenRefused: () => void): Promise<AppData> {
  const client = await createClient({
    name: clientName(session.claims),
    collections: collectionsFor(session),
    getToken: (reason) => {
      if (reason === 'refused') onTokenRefused();
      return session.token;
    },
    persist: true,
  });
  return { client, session, role: session.claims.role };
}
