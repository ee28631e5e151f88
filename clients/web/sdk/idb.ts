// Promise shapes for raw IndexedDB (the size of Jake Archibald's idb, for what the SDK
// uses). A transaction's promise settles when it commits or aborts: that, not a request's
// success, is when its writes are durable.

export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

// Resolves on complete; rejects with the transaction's error (QuotaExceededError,
// ConstraintError, ...) or an AbortError when it was aborted without one.
export function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = (e) => {
      // The error event bubbles from the failing request; the abort follows. Keep the
      // request's error (it names the cause) and let onabort settle.
      e.preventDefault?.();
    };
    tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'));
  });
}

// Runs `body` in one transaction and resolves with its result once the transaction has
// committed. `body` must only issue requests synchronously or chained on request
// callbacks (IndexedDB commits a transaction that has nothing pending at a task's end).
export async function transact<T>(
  db: IDBDatabase,
  stores: string | string[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => T | Promise<T>,
): Promise<T> {
  const tx = db.transaction(stores, mode, { durability: 'default' });
  const committed = done(tx);
  let result: T;
  try {
    result = await body(tx);
  } catch (e) {
    try {
      tx.abort();
    } catch {
      // already finished
    }
    await committed.catch(() => undefined);
    throw e;
  }
  await committed;
  return result;
}

export function isQuotaError(e: unknown): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    'name' in e &&
    ((e as { name: string }).name === 'QuotaExceededError' ||
      // Firefox before 2021 named it so
      (e as { name: string }).name === 'NS_ERROR_DOM_QUOTA_REACHED')
  );
}
