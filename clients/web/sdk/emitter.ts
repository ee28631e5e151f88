// A tiny typed event emitter: on() returns the function that removes the listener. A
// listener that throws does not stop the others (the error is reported on the console).

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (value: never) => void);
    return () => set?.delete(listener as (value: never) => void);
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (v: Events[K]) => void)(value);
      } catch (e) {
        console.error('fieldsync: a listener of', event, 'threw', e);
      }
    }
  }
}
