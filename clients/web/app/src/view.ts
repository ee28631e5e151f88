// What every view gets, and how views are written: a view renders into `root`, keeps its
// live queries' subscriptions, and returns the function that drops them when the route
// changes. Views read rows through the SDK's live queries and write through its
// collections; nothing else touches the data.
import type { AppData } from './data.js';
import type { Row } from './sdk.js';

export interface ViewContext extends AppData {
  go(path: string): void;
  // The signed-in person's row in `reps` (undefined until it has synced).
  me(): Row | undefined;
}

export type Cleanup = () => void;
export type View = (root: HTMLElement, ctx: ViewContext, params: string[]) => Cleanup | void;

// Collects cleanups of a view.
export class Subscriptions {
  private readonly items: Cleanup[] = [];
  add(c: Cleanup): void {
    this.items.push(c);
  }
  dispose = (): void => {
    for (const c of this.items.splice(0)) c();
  };
}

export function title(text: string): void {
  document.title = `${text} \u00b7 Fieldsync`;
}
